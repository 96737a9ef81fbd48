-- takes: build_from, build_touched
-- hands over: baseline_pending, category_gated
-- core.category_scores (restricted): every category cell with its share, its trailing
-- baseline and its spike score, whether it is visible, and the streak it belongs to.
--
-- Spike score (documented in docs/analytics.md): how unusual the cell's count is given its
-- trailing baseline of the same type (weekdays against weekdays, weekends against weekends,
-- complete ISO weeks against complete weeks). With x the cell's prompts, n its department's
-- (or the company's) visible prompts in the period (shares are of visible cells only), p0 the
-- median share of the baseline periods where the cell was visible, N those periods' summed
-- denominators and e = p0 * n the expected prompts:
--     z_count = 2 * (sqrt(x + 3/8) - sqrt(e + 3/8)) / sqrt(1 + n / N)
--         (Anscombe's variance-stabilised count deviation, widened by the noise of the
--          baseline itself; well calibrated even for a handful of prompts, where the plain
--          normal approximation turns noise into spikes)
--     z_mad   = (x / n - p0) / (1.4826 * MAD of the baseline shares)
--         (the robust z-score; only with at least mad_min_history baseline periods)
--     spike_score = whichever of the two is closer to zero.
--
-- This file scores the cells from build_from on (models/core/000_build_scope.sql: earlier scores
-- cannot change; their baselines only look back) from the aggregate cells (cheap: no per-prompt
-- rows) into the temp table category_gated and lists the visible scored cells whose baseline
-- users must be counted and are not known yet; models/core/007_baseline_users.sql counts those and
-- finishes core.category_scores.
CREATE OR REPLACE TEMP TABLE category_gated AS
WITH params AS (
    SELECT * FROM ops.trend_parameters
),
lookback AS (
    -- Whether a period can serve a baseline (the department was active and the week is
    -- complete) depends only on the department's period, so each department's N-th usable
    -- period before build_from is where the windows of the scope's first periods begin.
    SELECT ranked.grain, ranked.series_type, ranked.department, min(ranked.period) AS first_period
    FROM (
        SELECT
            usable.*,
            row_number() OVER (
                PARTITION BY grain, series_type, department ORDER BY period DESC) AS back
        FROM (
            SELECT DISTINCT grain, series_type, department, period
            FROM core.category_cells
            WHERE period < (SELECT period FROM build_from) AND period_prompts > 0 AND complete
        ) AS usable
    ) AS ranked
    CROSS JOIN params
    WHERE ranked.back <= CASE WHEN ranked.grain = 'day' THEN params.daily_baseline_days
                              ELSE params.weekly_baseline_weeks END
    GROUP BY ranked.grain, ranked.series_type, ranked.department
),
all_cells AS (
    -- The cells from build_from on (earlier scores cannot change) and their look-back.
    SELECT
        cells.*,
        concat_ws('|', 'category', grain, period, department, category) AS cell_id,
        -- Shares are of the visible prompts only: a share whose denominator held a hidden
        -- cell would give that cell back (prompts / share - visible prompts). A hidden or
        -- empty cell has none, so a baseline is a median of published shares and never
        -- tells a hidden period from an empty one.
        CASE WHEN NOT coalesce(s.suppressed, FALSE) AND cells.prompts > 0
             THEN cells.prompts::DOUBLE / sum(CASE WHEN coalesce(s.suppressed, FALSE) THEN 0
                                                  ELSE cells.prompts END)
                                          OVER (PARTITION BY cells.grain, cells.period, cells.department)
        END AS share,
        sum(CASE WHEN coalesce(s.suppressed, FALSE) THEN 0 ELSE cells.prompts END)
            OVER (PARTITION BY cells.grain, cells.period, cells.department) AS visible_prompts
    FROM core.category_cells AS cells
    LEFT JOIN core.cell_suppression AS s
        ON s.cell_id = concat_ws('|', 'category', cells.grain, cells.period, cells.department,
                                 cells.category)
    LEFT JOIN lookback USING (grain, series_type, department)
    WHERE cells.period >= coalesce(lookback.first_period, (SELECT period FROM build_from))
),
cells AS (
    -- Scored in this build.
    SELECT * FROM all_cells WHERE period >= (SELECT period FROM build_from)
),
series AS (
    -- The periods a baseline may use: the department was active and the week is complete.
    SELECT * FROM all_cells WHERE period_prompts > 0 AND complete
),
windowed AS (
    SELECT
        series.cell_id,
        count(share) OVER w           AS baseline_periods,
        -- The busiest single period of the window: its users are a lower bound of the
        -- window's distinct users, usually already enough to show the baseline.
        max(users) OVER w             AS baseline_floor,
        median(share) OVER w          AS baseline_median,
        mad(share) OVER w             AS baseline_mad,
        sum(visible_prompts) FILTER (WHERE share IS NOT NULL) OVER w AS baseline_prompts,
        min(period) OVER w            AS baseline_from,
        CASE WHEN series.grain = 'day' THEN params.daily_min_history
             ELSE params.weekly_min_history END AS min_history
    FROM series
    CROSS JOIN params
    WINDOW w AS (
        PARTITION BY series.grain, series.series_type, series.department, series.category
        ORDER BY series.period
        ROWS BETWEEN (CASE WHEN series.grain = 'day' THEN params.daily_baseline_days
                           ELSE params.weekly_baseline_weeks END) PRECEDING
             AND 1 PRECEDING
    )
),
counted AS (
    SELECT
        cells.*,
        windowed.baseline_periods,
        windowed.baseline_from,
        windowed.baseline_floor,
        CASE WHEN windowed.baseline_periods >= windowed.min_history
             THEN windowed.baseline_median END AS baseline_share,
        CASE WHEN windowed.baseline_periods >= windowed.min_history THEN
            2 * (sqrt(cells.prompts + 0.375)
                 - sqrt(windowed.baseline_median * cells.visible_prompts + 0.375))
            / sqrt(1 + cells.visible_prompts / windowed.baseline_prompts)
        END AS z_count,
        CASE WHEN windowed.baseline_periods >= greatest(windowed.min_history,
                                                        params.mad_min_history)
                  AND windowed.baseline_mad > 0 THEN
            (cells.share - windowed.baseline_median) / (1.4826 * windowed.baseline_mad)
        END AS z_mad
    FROM cells
    LEFT JOIN windowed USING (cell_id)
    CROSS JOIN params
),
scored AS (
    SELECT
        * EXCLUDE (z_count, z_mad),
        CASE WHEN abs(z_mad) < abs(z_count) THEN z_mad ELSE z_count END AS spike_score
    FROM counted
),
gated AS (
    SELECT
        scored.*,
        coalesce(s.suppressed, FALSE) AS suppressed,
        -- A hidden period is never elevated: it would show in a visible alert's 'since'.
        coalesce(NOT coalesce(s.suppressed, FALSE)
                 AND scored.spike_score >= params.min_streak_score, FALSE) AS elevated,
        coalesce(
            NOT coalesce(s.suppressed, FALSE)
            AND scored.prompts >= params.min_spike_prompts
            AND scored.spike_score >= params.min_spike_score
            AND scored.share >= params.min_spike_ratio * scored.baseline_share,
            FALSE) AS is_spike
    FROM scored
    LEFT JOIN core.cell_suppression AS s USING (cell_id)
    CROSS JOIN params
)
SELECT * FROM gated;

-- A stored count stays valid while its window is unchanged and no date inside it was replaced.
DELETE FROM core.baseline_users AS b
WHERE EXISTS (
    SELECT 1 FROM build_touched AS t
    WHERE t.run_date >= b.baseline_from AND t.run_date < b.period
);

CREATE OR REPLACE TEMP TABLE baseline_pending AS
SELECT
    g.cell_id,
    g.grain,
    g.series_type,
    g.department,
    g.category,
    NULL::VARCHAR AS model_version,
    NULL::INTEGER AS topic_id,
    g.baseline_from,
    g.period
FROM category_gated AS g
LEFT JOIN core.baseline_users AS b
    ON b.cell_id = g.cell_id AND b.baseline_from = g.baseline_from AND b.period = g.period
WHERE g.prompts > 0 AND NOT g.suppressed AND g.spike_score IS NOT NULL
  -- Only when no single period of the window reaches the threshold do the distinct users of
  -- the whole window decide whether the baseline is shown, and have to be counted.
  AND g.baseline_floor < g.min_users
  AND b.cell_id IS NULL;
