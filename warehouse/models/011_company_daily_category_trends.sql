-- analytics.company_daily_category_trends: the whole company's prompts per day and category,
-- with the same columns and suppression as analytics.daily_category_trends. Complementary
-- suppression guarantees that this total minus the visible departments never gives back a
-- single hidden department cell.
CREATE OR REPLACE TABLE analytics.company_daily_category_trends AS
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
WHERE grain = 'day' AND department = '(all)' AND prompts > 0
ORDER BY date, category;
