-- takes: build_from
-- analytics.weekly_category_trends: prompts per ISO week (Monday to Sunday), department and
-- category, the change against the previous week and the spike score against the trailing
-- complete weeks (departments only; company-wide: analytics.company_weekly_category_trends).
-- The week in progress has complete = false and no change or score. A change is shown only
-- when both weeks are complete and visible, so it never gives back a hidden week. Hidden cells
-- have no row (models/analytics/010_daily_category_trends.sql).
-- Rewritten from build_from on (models/core/000_build_scope.sql); earlier rows are kept.
CREATE OR REPLACE TEMP TABLE weekly_category_trends_rebuilt AS
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
      AND cur.prompts > 0 AND NOT cur.suppressed
)
SELECT
    strftime(period, '%G-W%V')                                    AS iso_week,
    period                                                        AS week_start,
    complete,
    department,
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
WHERE department <> '(all)'
ORDER BY week_start, department, category;

CREATE TABLE IF NOT EXISTS analytics.weekly_category_trends AS
SELECT * FROM weekly_category_trends_rebuilt LIMIT 0;
DELETE FROM analytics.weekly_category_trends WHERE week_start >= (SELECT period FROM build_from);
INSERT INTO analytics.weekly_category_trends BY NAME
SELECT * FROM weekly_category_trends_rebuilt;
