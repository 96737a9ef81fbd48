-- takes: build_from
-- analytics.company_daily_category_trends: the whole company's prompts per day and category,
-- with the same columns and suppression as analytics.daily_category_trends (hidden cells have
-- no row). Complementary suppression guarantees that this total minus the visible departments
-- gives back only the sum of two or more hidden cells whose users together reach the threshold.
-- Rewritten from build_from on (models/core/000_build_scope.sql); earlier rows are kept.
CREATE OR REPLACE TEMP TABLE company_daily_category_trends_rebuilt AS
SELECT
    period                                                        AS date,
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
  AND department = '(all)' AND prompts > 0 AND NOT suppressed
ORDER BY date, category;

CREATE TABLE IF NOT EXISTS analytics.company_daily_category_trends AS
SELECT * FROM company_daily_category_trends_rebuilt LIMIT 0;
DELETE FROM analytics.company_daily_category_trends WHERE date >= (SELECT period FROM build_from);
INSERT INTO analytics.company_daily_category_trends BY NAME
SELECT * FROM company_daily_category_trends_rebuilt;
