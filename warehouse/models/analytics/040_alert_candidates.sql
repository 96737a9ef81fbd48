-- core.alert_candidates: every alert the current core supports, one row per streak.
--
-- Rules (docs/analytics.md): a category cell (department or company-wide '(all)', day or
-- complete week) with is_spike raises a 'spike'; a topic cell with a volume jump raises an
-- 'emerging_topic'. Consecutive elevated periods of one series (spike_score >= the streak
-- threshold; weekdays, weekends and weeks are separate series) form one streak and one alert,
-- identified by its first elevated period (since), so a spike that lasts a week is one alert
-- that grows rather than seven. An alert only describes visible cells: is_spike and is_jump
-- already require the cell to be visible, and the baseline and scores are shown only when the
-- baseline window's users reach the threshold.
CREATE OR REPLACE TABLE core.alert_candidates AS
WITH model_starts AS (
    SELECT model_version, min(period) AS first_used
    FROM core.topic_cell_counts
    WHERE grain = 'day'
    GROUP BY ALL
),
category_spikes AS (
    SELECT
        'spike'                             AS kind,
        grain,
        series_type,
        department,
        category,
        NULL::VARCHAR                       AS model_version,
        NULL::INTEGER                       AS topic_id,
        streak_since                        AS since,
        period,
        prompts,
        users,
        share,
        baseline_share,
        baseline_visible,
        spike_score
    FROM core.category_scores
    WHERE is_spike
),
topic_jumps AS (
    SELECT
        'emerging_topic',
        grain,
        series_type,
        '(all)',
        topic_category,
        model_version,
        topic_id,
        streak_since,
        period,
        prompts,
        users,
        share,
        baseline_share,
        baseline_visible,
        spike_score
    FROM core.topic_scores
    WHERE is_jump
),
spikes AS (
    SELECT * FROM category_spikes
    UNION ALL
    SELECT * FROM topic_jumps
),
streaks AS (
    SELECT
        *,
        row_number() OVER streak_latest AS latest_rank,
        count(*) OVER streak            AS spike_periods,
        max(spike_score) OVER streak    AS peak_score
    FROM spikes
    WINDOW
        streak AS (PARTITION BY kind, grain, series_type, department, category, model_version,
                   topic_id, since),
        streak_latest AS (PARTITION BY kind, grain, series_type, department, category,
                          model_version, topic_id, since ORDER BY period DESC)
),
latest AS (
    SELECT
        streaks.*,
        EXISTS (
            -- A refit took effect in the alert's period: the new model may explain the shift.
            SELECT 1 FROM model_starts AS m
            WHERE m.first_used BETWEEN streaks.period
                  AND streaks.period + CASE WHEN streaks.grain = 'week' THEN 6 ELSE 0 END
              AND m.first_used > (SELECT min(period) FROM core.topic_cell_counts)
        ) AS model_changed
    FROM streaks
    WHERE latest_rank = 1
)
SELECT
    substr(md5(concat_ws('|', l.kind, l.grain, l.department, coalesce(l.category, ''),
                         coalesce(l.model_version, ''), coalesce(l.topic_id::VARCHAR, ''),
                         l.since)), 1, 16)                    AS alert_id,
    l.kind,
    l.grain,
    CASE WHEN l.department = '(all)' THEN 'company' ELSE 'department' END AS scope,
    l.department,
    l.category,
    l.model_version,
    l.topic_id,
    t.label                                                   AS topic_label,
    l.since,
    l.period,
    l.spike_periods,
    l.prompts,
    l.users,
    l.share,
    CASE WHEN l.baseline_visible THEN l.baseline_share END    AS baseline_share,
    CASE WHEN l.baseline_visible THEN l.share / nullif(l.baseline_share, 0) END AS ratio,
    CASE WHEN l.baseline_visible THEN round(l.spike_score, 2) END AS spike_score,
    CASE WHEN l.baseline_visible THEN round(l.peak_score, 2) END  AS peak_score,
    l.model_changed,
    concat(
        CASE WHEN l.kind = 'spike' THEN l.category || ' spike'
             ELSE 'emerging topic ''' || coalesce(t.label, '#' || l.topic_id) || ''' ('
                  || coalesce(l.category, 'no category') || ')' END,
        CASE WHEN l.department = '(all)' THEN ' company-wide' ELSE ' in ' || l.department END,
        CASE WHEN l.grain = 'week' THEN ' in week ' || strftime(l.period, '%G-W%V')
             ELSE ' on ' || strftime(l.period, '%Y-%m-%d') END,
        ': ', l.prompts, ' prompts from ', l.users, ' people, ',
        printf('%.1f%%', 100 * l.share), ' of ',
        CASE WHEN l.kind = 'emerging_topic' THEN 'the prompts its model classified'
             WHEN l.department = '(all)' THEN 'all prompts'
             ELSE l.department || '''s prompts' END,
        CASE WHEN l.baseline_visible
             THEN printf(' vs %.1f%% usually (score %.1f)', 100 * l.baseline_share, l.spike_score)
             ELSE '' END,
        CASE WHEN l.since < l.period
             THEN ', elevated since ' || strftime(l.since, '%Y-%m-%d') ELSE '' END,
        CASE WHEN l.model_changed THEN ' [a new topic model took effect then]' ELSE '' END
    )                                                         AS headline
FROM latest AS l
LEFT JOIN analytics.topics AS t USING (model_version, topic_id);
