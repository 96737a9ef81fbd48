-- Every topic of the topic trends and of the alerts is in the published topic catalogue (a
-- withdrawn alert of a topic hidden since names none).
SELECT 'topic_trends' AS source, model_version, topic_id
FROM analytics.topic_trends
EXCEPT
SELECT 'topic_trends', model_version, topic_id FROM analytics.topics
UNION ALL
(SELECT 'alerts', model_version, topic_id
 FROM analytics.alerts WHERE kind = 'emerging_topic' AND topic_id IS NOT NULL
 EXCEPT
 SELECT 'alerts', model_version, topic_id FROM analytics.topics);
