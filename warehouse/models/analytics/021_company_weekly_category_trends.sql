-- takes: build_from
-- analytics.company_weekly_category_trends: the whole company's prompts per ISO week and
-- category, with the same columns and rules as analytics.weekly_category_trends.
-- Rewritten from build_from on (models/core/000_build_scope.sql); earlier rows are kept.
CREATE OR REPLACE TEMP TABLE company_weekly_category_trends_rebuilt AS
WITH weeks AS (
    SELECT
        cur.*,
        prev.prompts    AS prev_prompts,
        prev.share      AS prev_share,
        prev.complete
            -- A previous week without prompts gives no change either: it has no row, like a
            -- hidden week, and a change must not tell the two apart.
            AND prev.prompts > 0 AND NOT prev.suppressed
            AND cur.complete
            AND NOT cur.suppressed AS comparable
    FROM core.category_scores AS cur
    LEFT JOIN core.category_scores AS prev
        ON prev.grain = 'week'
        AND prev.period = cur.period - 7
        AND prev.department = cur.department
        AND prev.category = cur.category
    WHERE cur.grain = 'week' AND cur.period >= (SELECT period FROM build_from)
      AND cur.prompts > 0 AND NOT cur.suppressed AND cur.department = '(all)'
)
SELECT
    strftime(period, '%G-W%V')                                    AS iso_week,
    period                                                        AS week_start,
    complete,
    category,
    CASE WHEN suppressed THEN NULL ELSE prompts END               AS prompts,
    CASE WHEN suppressed THEN NULL ELSE users END                 AS users,
    CASE WHEN suppressed THEN NULL ELSE share END                 AS share,
    CASE WHEN comparable THEN prompts - prev_prompts END          AS prompts_change,
    CASE WHEN comparable THEN (prompts - prev_prompts) / nullif(prev_prompts, 0) END
                                                                  AS prompts_change_rel,
    CASE WHEN comparable THEN share - prev_share END              AS share_change,
    CASE WHEN NOT suppressed AND baseline_visible THEN baseline_share END AS baseline_share,
    CASE WHEN NOT suppressed AND baseline_visible THEN round(spike_score, 2) END
                                                                  AS spike_score,
    is_spike,
    suppressed
FROM weeks
ORDER BY week_start, category;

CREATE TABLE IF NOT EXISTS analytics.company_weekly_category_trends AS
SELECT * FROM company_weekly_category_trends_rebuilt LIMIT 0;
DELETE FROM analytics.company_weekly_category_trends
WHERE week_start >= (SELECT period FROM build_from);
INSERT INTO analytics.company_weekly_category_trends BY NAME
SELECT * FROM company_weekly_category_trends_rebuilt;
