-- No visible cell of any analyst-facing table counts fewer distinct users than its privacy
-- threshold (ops.privacy_thresholds: the category's own or the default '*', whichever is
-- stricter; no default at all means nothing may be visible). A visible cell without a user
-- count fails too.
WITH default_threshold AS (
    SELECT coalesce(max(min_users), 2147483647) AS min_users
    FROM ops.privacy_thresholds
    WHERE category = '*'
),
visible AS (
    SELECT 'daily_category_trends' AS table_name,
           concat_ws('|', date, department, category) AS cell, category, users
    FROM analytics.daily_category_trends WHERE NOT suppressed
    UNION ALL
    SELECT 'company_daily_category_trends', concat_ws('|', date, category), category, users
    FROM analytics.company_daily_category_trends WHERE NOT suppressed
    UNION ALL
    SELECT 'weekly_category_trends', concat_ws('|', week_start, department, category),
           category, users
    FROM analytics.weekly_category_trends WHERE NOT suppressed
    UNION ALL
    SELECT 'company_weekly_category_trends', concat_ws('|', week_start, category),
           category, users
    FROM analytics.company_weekly_category_trends WHERE NOT suppressed
    UNION ALL
    SELECT 'topic_trends', concat_ws('|', grain, period, model_version, topic_id),
           topic_category, users
    FROM analytics.topic_trends WHERE NOT suppressed
    UNION ALL
    -- A topic of the catalogue no one asked about (0 people) is no group, like an empty cell.
    SELECT 'topics', concat_ws('|', model_version, topic_id), category, users
    FROM analytics.topics WHERE NOT suppressed AND users IS DISTINCT FROM 0
    UNION ALL
    SELECT 'alerts', alert_id, category, users
    FROM analytics.alerts WHERE status = 'active'
)
SELECT v.table_name, v.cell, v.users,
       greatest(coalesce(specific.min_users, 0), d.min_users) AS min_users
FROM visible AS v
CROSS JOIN default_threshold AS d
LEFT JOIN ops.privacy_thresholds AS specific
    ON specific.category = v.category AND specific.category <> '*'
WHERE v.users IS NULL
   OR v.users < greatest(coalesce(specific.min_users, 0), d.min_users);
