-- No hidden topic's training size can be recovered by subtraction: a model version's topic
-- sizes add up to its training documents, so its catalogue never has exactly one hidden topic
-- beside visible ones. (The trend tables are attacked by insight_core/disclosure_audit.py.)
SELECT model_version
FROM analytics.topics
GROUP BY model_version
HAVING count(*) FILTER (WHERE suppressed) = 1 AND count(*) FILTER (WHERE NOT suppressed) > 0;
