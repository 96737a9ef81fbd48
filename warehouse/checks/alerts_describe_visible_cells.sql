-- An active alert describes a cell that is visible in its trend table with the same counts,
-- so an alert never reveals a hidden cell.
WITH cells AS (
    SELECT 'spike' AS kind, 'day' AS grain, date AS period, department, category,
           NULL::VARCHAR AS model_version, NULL::INTEGER AS topic_id, prompts, suppressed
    FROM analytics.daily_category_trends
    UNION ALL
    SELECT 'spike', 'day', date, '(all)', category, NULL, NULL, prompts, suppressed
    FROM analytics.company_daily_category_trends
    UNION ALL
    SELECT 'spike', 'week', week_start, department, category, NULL, NULL, prompts, suppressed
    FROM analytics.weekly_category_trends
    UNION ALL
    SELECT 'spike', 'week', week_start, '(all)', category, NULL, NULL, prompts, suppressed
    FROM analytics.company_weekly_category_trends
    UNION ALL
    SELECT 'emerging_topic', grain, period, '(all)', topic_category, model_version, topic_id,
           prompts, suppressed
    FROM analytics.topic_trends
)
SELECT a.alert_id, a.kind, a.grain, a.period, a.department, a.category
FROM analytics.alerts AS a
LEFT JOIN cells AS c
    ON c.kind = a.kind AND c.grain = a.grain AND c.period = a.period
    AND c.department = a.department
    AND (a.kind = 'emerging_topic' OR c.category = a.category)
    AND c.model_version IS NOT DISTINCT FROM a.model_version
    AND c.topic_id IS NOT DISTINCT FROM a.topic_id
WHERE a.status = 'active'
  AND (c.suppressed IS NULL OR c.suppressed OR c.prompts IS DISTINCT FROM a.prompts);
