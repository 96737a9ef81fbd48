-- analytics.daily_category_trends: prompts per day, department and category (departments
-- only; company-wide totals are in analytics.company_daily_category_trends).
-- A hidden cell (fewer distinct users than its category's threshold in
-- ops.privacy_thresholds, or hidden as the complement of one, see core.cell_suppression)
-- shows NULL counts and suppressed = true. Cells with no prompts have no row.
CREATE OR REPLACE TABLE analytics.daily_category_trends AS
SELECT
    period                                                        AS date,
    department,
    category,
    CASE WHEN suppressed THEN NULL ELSE prompts END               AS prompts,
    CASE WHEN suppressed THEN NULL ELSE users END                 AS users,
    CASE WHEN suppressed THEN NULL ELSE share END                 AS share,
    CASE WHEN NOT suppressed AND baseline_visible THEN baseline_share END AS baseline_share,
    CASE WHEN NOT suppressed AND baseline_visible THEN round(spike_score, 2) END
                                                                  AS spike_score,
    is_spike,
    suppressed
FROM core.category_scores
WHERE grain = 'day' AND department <> '(all)' AND prompts > 0
ORDER BY date, department, category;
