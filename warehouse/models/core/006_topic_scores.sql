-- takes: baseline_pending, build_from
-- hands over: build_dates, topic_gated
-- core.topic_scores (restricted): every topic cell with its share, baseline, spike score,
-- visibility and streak; the same score as core.category_scores, a series being one topic of
-- one model version. Topic ids are only stable within a model version, so a refit starts new
-- series: a new model's topics are scored once they have the minimum history (a week of
-- weekdays, two complete weeks). Until then a topic only shows whether it is new.
-- Like models/core/005, this file scores the cells from build_from on into the temp table
-- topic_gated and adds the cells whose history users are not known yet to baseline_pending;
-- models/core/007 finishes core.topic_scores.
CREATE OR REPLACE TEMP TABLE topic_gated AS
WITH params AS (
    SELECT * FROM ops.trend_parameters
),
lookback AS (
    -- As in models/core/005: a period's usability depends only on its model version's period.
    SELECT ranked.grain, ranked.series_type, ranked.model_version, min(ranked.period) AS first_period
    FROM (
        SELECT
            usable.*,
            row_number() OVER (
                PARTITION BY grain, series_type, model_version ORDER BY period DESC) AS back
        FROM (
            SELECT DISTINCT grain, series_type, model_version, period
            FROM core.topic_cells
            WHERE period < (SELECT period FROM build_from) AND period_prompts > 0 AND complete
        ) AS usable
    ) AS ranked
    CROSS JOIN params
    WHERE ranked.back <= CASE WHEN ranked.grain = 'day' THEN params.daily_baseline_days
                              ELSE params.weekly_baseline_weeks END
    GROUP BY ranked.grain, ranked.series_type, ranked.model_version
),
all_cells AS (
    -- The cells from build_from on (earlier scores cannot change) and their look-back.
    SELECT
        cells.*,
        concat_ws('|', 'topic', grain, period, model_version, topic_id) AS cell_id,
        -- Shares are of the visible prompts only: a share whose denominator held a hidden
        -- cell would give that cell back (prompts / share - visible prompts). A hidden or
        -- empty cell has none, so a baseline is a median of published shares and never
        -- tells a hidden period from an empty one.
        CASE WHEN NOT coalesce(s.suppressed, FALSE) AND cells.prompts > 0
             THEN cells.prompts::DOUBLE / sum(CASE WHEN coalesce(s.suppressed, FALSE) THEN 0
                                                  ELSE cells.prompts END)
                                          OVER (PARTITION BY cells.grain, cells.period, cells.model_version)
        END AS share,
        sum(CASE WHEN coalesce(s.suppressed, FALSE) THEN 0 ELSE cells.prompts END)
            OVER (PARTITION BY cells.grain, cells.period, cells.model_version) AS visible_prompts
    FROM core.topic_cells AS cells
    LEFT JOIN core.cell_suppression AS s
        ON s.cell_id = concat_ws('|', 'topic', cells.grain, cells.period, cells.model_version,
                                 cells.topic_id)
    LEFT JOIN lookback USING (grain, series_type, model_version)
    WHERE cells.period >= coalesce(lookback.first_period, (SELECT period FROM build_from))
),
cells AS (
    -- Scored in this build.
    SELECT * FROM all_cells WHERE period >= (SELECT period FROM build_from)
),
series AS (
    SELECT * FROM all_cells WHERE period_prompts > 0 AND complete
),
windowed AS (
    SELECT
        series.cell_id,
        count(share) OVER w           AS history_periods,
        max(users) OVER w             AS history_floor,
        median(share) OVER w          AS history_median,
        mad(share) OVER w             AS history_mad,
        sum(visible_prompts) FILTER (WHERE share IS NOT NULL) OVER w AS history_prompts,
        min(period) OVER w            AS history_from,
        CASE WHEN series.grain = 'day' THEN params.daily_min_history
             ELSE params.weekly_min_history END AS min_history
    FROM series
    CROSS JOIN params
    WINDOW w AS (
        PARTITION BY series.grain, series.series_type, series.model_version, series.topic_id
        ORDER BY series.period
        ROWS BETWEEN (CASE WHEN series.grain = 'day' THEN params.daily_baseline_days
                           ELSE params.weekly_baseline_weeks END) PRECEDING
             AND 1 PRECEDING
    )
),
baselines AS (
    SELECT
        cells.*,
        windowed.history_periods,
        windowed.history_from,
        windowed.history_floor,
        coalesce(windowed.history_periods >= windowed.min_history, FALSE) AS from_history,
        CASE WHEN windowed.history_periods >= windowed.min_history
             THEN windowed.history_median END AS baseline_share,
        CASE WHEN windowed.history_periods >= windowed.min_history
             THEN windowed.history_prompts END AS baseline_prompts,
        CASE WHEN windowed.history_periods >= greatest(windowed.min_history,
                                                       params.mad_min_history)
                  AND windowed.history_mad > 0
             THEN 1.4826 * windowed.history_mad END AS mad_scale
    FROM cells
    LEFT JOIN windowed USING (cell_id)
    CROSS JOIN params
),
counted AS (
    SELECT
        baselines.*,
        CASE WHEN baselines.from_history THEN
            2 * (sqrt(baselines.prompts + 0.375)
                 - sqrt(baselines.baseline_share * baselines.visible_prompts + 0.375))
            / sqrt(1 + baselines.visible_prompts / baselines.baseline_prompts)
        END AS z_count,
        (baselines.share - baselines.baseline_share) / baselines.mad_scale AS z_mad
    FROM baselines
),
scored AS (
    SELECT
        * EXCLUDE (z_count, z_mad, mad_scale),
        CASE WHEN abs(z_mad) < abs(z_count) THEN z_mad ELSE z_count END AS spike_score
    FROM counted
),
gated AS (
    SELECT
        scored.*,
        coalesce(s.suppressed, FALSE) AS suppressed,
        coalesce(scored.topic_id <> -1 AND NOT coalesce(s.suppressed, FALSE)
                 AND scored.spike_score >= params.min_streak_score, FALSE) AS elevated,
        coalesce(
            scored.topic_id <> -1
            AND NOT coalesce(s.suppressed, FALSE)
            AND scored.prompts >= params.min_spike_prompts
            AND scored.spike_score >= params.min_spike_score
            AND scored.share >= params.min_spike_ratio * scored.baseline_share,
            FALSE) AS is_jump
    FROM scored
    LEFT JOIN core.cell_suppression AS s USING (cell_id)
    CROSS JOIN params
)
SELECT * FROM gated;

INSERT INTO baseline_pending
SELECT
    g.cell_id,
    g.grain,
    g.series_type,
    '(all)',
    NULL,
    g.model_version,
    g.topic_id,
    g.history_from,
    g.period
FROM topic_gated AS g
LEFT JOIN core.baseline_users AS b
    ON b.cell_id = g.cell_id AND b.baseline_from = g.history_from AND b.period = g.period
WHERE g.prompts > 0 AND NOT g.suppressed AND g.from_history
  AND g.history_floor < g.min_users
  AND b.cell_id IS NULL;

-- The per-prompt rows models/core/007 needs: the loaded dates inside any pending window.
CREATE OR REPLACE TEMP TABLE build_dates AS
SELECT p.run_date
FROM ops.partitions AS p
WHERE p.dataset = 'classifications'
  AND EXISTS (
      SELECT 1 FROM baseline_pending AS w
      WHERE p.run_date >= w.baseline_from AND p.run_date < w.period
  );
