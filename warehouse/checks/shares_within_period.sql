-- Visible shares of a department's (or the company's, or a model version's) period never
-- exceed 1, and equal 1 when nothing in the period is hidden: weekly, company-wide and topic
-- tables (the daily department table has shares_within_department_day).
WITH shares AS (
    SELECT 'weekly_category_trends' AS table_name, concat_ws('|', week_start, department) AS grp,
           share, suppressed
    FROM analytics.weekly_category_trends
    UNION ALL
    SELECT 'company_daily_category_trends', date::VARCHAR, share, suppressed
    FROM analytics.company_daily_category_trends
    UNION ALL
    SELECT 'company_weekly_category_trends', week_start::VARCHAR, share, suppressed
    FROM analytics.company_weekly_category_trends
    UNION ALL
    SELECT 'topic_trends', concat_ws('|', grain, period, model_version), share, suppressed
    FROM analytics.topic_trends
)
SELECT table_name, grp, sum(share) AS visible_share, bool_or(suppressed) AS any_suppressed
FROM shares
GROUP BY table_name, grp
HAVING sum(coalesce(share, 0)) > 1.000001
    OR (NOT bool_or(suppressed) AND abs(sum(share) - 1) > 0.000001);
