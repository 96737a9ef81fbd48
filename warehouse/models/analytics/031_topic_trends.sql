-- takes: build_from, topics_changed
-- analytics.topic_trends: prompts per topic (of one model version) per day and per ISO week,
-- company-wide. share is the topic's part of the prompts its model version classified in the
-- period. emerging marks a visible topic cell whose volume jumps (the spike rules of the
-- category trends, on the topic's own history within its model version: 'volume_jump'), or a
-- topic of the current model that is new (analytics.topics.is_new) in the first seven days the
-- model is used ('new_topic'). Only volume jumps raise alerts: a refit renames and splits most
-- topics, so "new" alone is a prompt to look, not evidence of a change in behaviour.
-- Rewritten from build_from on (models/core/000_build_scope.sql), and in every period for the
-- topics whose catalogue entry changed (models/analytics/030_topics.sql); other rows are kept.
CREATE OR REPLACE TEMP TABLE topic_trends_rebuilt AS
SELECT
    s.grain,
    s.period,
    CASE WHEN s.grain = 'week' THEN strftime(s.period, '%G-W%V') END AS iso_week,
    s.complete,
    s.model_version,
    s.topic_id,
    t.label                                                       AS topic_label,
    s.topic_category,
    CASE WHEN s.suppressed THEN NULL ELSE s.prompts END           AS prompts,
    CASE WHEN s.suppressed THEN NULL ELSE s.users END             AS users,
    CASE WHEN s.suppressed THEN NULL ELSE s.share END             AS share,
    CASE WHEN NOT s.suppressed AND s.baseline_visible THEN s.baseline_share END AS baseline_share,
    CASE WHEN NOT s.suppressed AND s.baseline_visible THEN round(s.spike_score, 2) END
                                                                  AS spike_score,
    coalesce(t.is_new, FALSE)                                     AS is_new_topic,
    NOT s.suppressed AND (s.is_jump OR coalesce(new_in_period, FALSE)) AS emerging,
    CASE
        WHEN s.suppressed THEN NULL
        WHEN s.is_jump THEN 'volume_jump'
        WHEN new_in_period THEN 'new_topic'
    END                                                           AS emerging_reason,
    s.suppressed
FROM core.topic_scores AS s
LEFT JOIN analytics.topics AS t USING (model_version, topic_id)
CROSS JOIN LATERAL (
    SELECT t.is_new AND t.is_current_model AND s.period <= t.first_used + 6 AS new_in_period
) AS n
WHERE s.prompts > 0 AND NOT s.suppressed  -- a hidden cell has no row
  AND (s.period >= (SELECT period FROM build_from)
       OR (s.model_version, s.topic_id) IN (SELECT (model_version, topic_id) FROM topics_changed))
ORDER BY s.grain, s.period, s.model_version, s.topic_id;

CREATE TABLE IF NOT EXISTS analytics.topic_trends AS
SELECT * FROM topic_trends_rebuilt LIMIT 0;
DELETE FROM analytics.topic_trends
WHERE period >= (SELECT period FROM build_from)
   OR (model_version, topic_id) IN (SELECT (model_version, topic_id) FROM topics_changed);
INSERT INTO analytics.topic_trends BY NAME SELECT * FROM topic_trends_rebuilt;
