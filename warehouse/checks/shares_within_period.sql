-- Shares are of the visible prompts only, so the shares of every department's (or the
-- company's, or a model version's) period add up to exactly 1: a share whose denominator held a
-- hidden cell would give that cell back (prompts / share minus the visible prompts).
WITH shares AS (
    SELECT 'daily_category_trends' AS table_name, concat_ws('|', date, department) AS grp, share
    FROM analytics.daily_category_trends
    UNION ALL
    SELECT 'weekly_category_trends', concat_ws('|', week_start, department), share
    FROM analytics.weekly_category_trends
    UNION ALL
    SELECT 'company_daily_category_trends', date::VARCHAR, share
    FROM analytics.company_daily_category_trends
    UNION ALL
    SELECT 'company_weekly_category_trends', week_start::VARCHAR, share
    FROM analytics.company_weekly_category_trends
    UNION ALL
    SELECT 'topic_trends', concat_ws('|', grain, period, model_version), share
    FROM analytics.topic_trends
)
SELECT table_name, grp, sum(share) AS visible_share
FROM shares
GROUP BY table_name, grp
HAVING abs(sum(coalesce(share, 0)) - 1) > 0.000001;
