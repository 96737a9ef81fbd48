-- core.topic_scores (restricted): every topic cell with its share, baseline, spike score,
-- visibility and streak; the same score as core.category_scores, a series being one topic of
-- one model version. Topic ids are only stable within a model version, so a refit starts new
-- series: a new model's topics are scored once they have the minimum history (a week of
-- weekdays, two complete weeks). Until then a topic only shows whether it is new.
CREATE OR REPLACE TABLE core.topic_scores AS
WITH params AS (
    SELECT * FROM ops.trend_parameters
),
cells AS (
    SELECT
        cells.*,
        concat_ws('|', 'topic', grain, period, model_version, topic_id) AS cell_id,
        CASE WHEN period_prompts > 0 THEN prompts::DOUBLE / period_prompts END AS share
    FROM core.topic_cells AS cells
),
series AS (
    SELECT * FROM cells WHERE period_prompts > 0 AND complete
),
windowed AS (
    SELECT
        series.cell_id,
        count(share) OVER w           AS history_periods,
        median(share) OVER w          AS history_median,
        mad(share) OVER w             AS history_mad,
        sum(period_prompts) OVER w    AS history_prompts,
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
                 - sqrt(baselines.baseline_share * baselines.period_prompts + 0.375))
            / sqrt(1 + baselines.period_prompts / baselines.baseline_prompts)
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
        coalesce(scored.topic_id <> -1 AND scored.spike_score >= params.min_streak_score, FALSE)
            AS elevated,
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
),
history_users AS (
    SELECT g.cell_id, count(DISTINCT c.user_hash) AS history_users
    FROM gated AS g
    JOIN core.classifications AS c
        ON c.model_version = g.model_version
        AND c.topic_id = g.topic_id
        AND c.run_date >= g.history_from
        AND c.run_date < g.period
        AND (g.grain = 'week' OR (isodow(c.run_date) >= 6) = (g.series_type = 'weekend'))
    WHERE g.prompts > 0 AND NOT g.suppressed AND g.from_history
    GROUP BY g.cell_id
),
streaks AS (
    SELECT
        gated.*,
        coalesce(history_users.history_users, 0) AS baseline_users,
        sum(CASE WHEN gated.elevated THEN 0 ELSE 1 END) OVER (
            PARTITION BY gated.grain, gated.series_type, gated.model_version, gated.topic_id
            ORDER BY gated.period ROWS UNBOUNDED PRECEDING) AS streak_group
    FROM gated
    LEFT JOIN history_users USING (cell_id)
)
SELECT
    * EXCLUDE (streak_group),
    baseline_users >= min_users AS baseline_visible,
    CASE WHEN elevated THEN min(period) FILTER (WHERE elevated) OVER (
        PARTITION BY grain, series_type, model_version, topic_id, streak_group) END
        AS streak_since
FROM streaks;
