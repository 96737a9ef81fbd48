-- Every topic of the topic trends and of the alerts is in the published topic catalogue.
SELECT 'topic_trends' AS source, model_version, topic_id
FROM analytics.topic_trends
EXCEPT
SELECT 'topic_trends', model_version, topic_id FROM analytics.topics
UNION ALL
(SELECT 'alerts', model_version, topic_id
 FROM analytics.alerts WHERE kind = 'emerging_topic'
 EXCEPT
 SELECT 'alerts', model_version, topic_id FROM analytics.topics);
