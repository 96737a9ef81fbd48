-- takes: build_from
-- analytics.daily_category_trends: prompts per day, department and category (departments
-- only; company-wide totals are in analytics.company_daily_category_trends).
-- A hidden cell (fewer distinct users than its category's threshold in
-- ops.privacy_thresholds, or hidden as the complement of one, see core.cell_suppression) has
-- no row, exactly like a cell with no prompts, so a hidden row cannot show that a group exists.
-- share is of the department's visible prompts that day. suppressed is always false (kept
-- for the readers that filter on it).
-- Rewritten from build_from on (models/core/000_build_scope.sql); earlier rows are kept.
CREATE OR REPLACE TEMP TABLE daily_category_trends_rebuilt AS
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
WHERE grain = 'day' AND period >= (SELECT period FROM build_from)
  AND department <> '(all)' AND prompts > 0 AND NOT suppressed
ORDER BY date, department, category;

CREATE TABLE IF NOT EXISTS analytics.daily_category_trends AS
SELECT * FROM daily_category_trends_rebuilt LIMIT 0;
DELETE FROM analytics.daily_category_trends WHERE date >= (SELECT period FROM build_from);
INSERT INTO analytics.daily_category_trends BY NAME
SELECT * FROM daily_category_trends_rebuilt;
