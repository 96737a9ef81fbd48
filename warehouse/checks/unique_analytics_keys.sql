-- Every analyst-facing table has one row per key.
SELECT 'daily_category_trends' AS table_name,
       concat_ws('|', date, department, category) AS key, count(*) AS copies
FROM analytics.daily_category_trends GROUP BY date, department, category HAVING count(*) > 1
UNION ALL
SELECT 'company_daily_category_trends', concat_ws('|', date, category), count(*)
FROM analytics.company_daily_category_trends GROUP BY date, category HAVING count(*) > 1
UNION ALL
SELECT 'weekly_category_trends', concat_ws('|', week_start, department, category), count(*)
FROM analytics.weekly_category_trends
GROUP BY week_start, department, category HAVING count(*) > 1
UNION ALL
SELECT 'company_weekly_category_trends', concat_ws('|', week_start, category), count(*)
FROM analytics.company_weekly_category_trends GROUP BY week_start, category HAVING count(*) > 1
UNION ALL
SELECT 'topic_trends', concat_ws('|', grain, period, model_version, topic_id), count(*)
FROM analytics.topic_trends
GROUP BY grain, period, model_version, topic_id HAVING count(*) > 1
UNION ALL
SELECT 'topics', concat_ws('|', model_version, topic_id), count(*)
FROM analytics.topics GROUP BY model_version, topic_id HAVING count(*) > 1
UNION ALL
SELECT 'alerts', alert_id, count(*)
FROM analytics.alerts GROUP BY alert_id HAVING count(*) > 1;
