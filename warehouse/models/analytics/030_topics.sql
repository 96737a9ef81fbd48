-- hands over: topics_changed
-- analytics.topics: the topic catalogue of every model version a published run used.
-- is_new: the topic has no counterpart in the previous model version (the one used before
-- it), i.e. no topic there whose top-word tokens overlap with a Jaccard similarity of at
-- least ops.trend_parameters.topic_match_similarity; counterpart_* name the best match.
-- A topic hidden by core.topic_visibility (models/core/002_category_cells.sql: fewer distinct people
-- than its category's threshold, or hidden as its complement so that neither its size nor its
-- people can be recovered from the model version's total) has no row, so the catalogue never
-- shows that a small topic exists; counterparts are sought among listed topics only, so
-- counterpart_topic_id never names a hidden one. suppressed is
-- always false (kept for the readers that filter on it).
CREATE OR REPLACE TEMP TABLE topics_rebuilt AS
WITH used_days AS (
    SELECT DISTINCT period AS run_date, model_version
    FROM core.topic_cell_counts
    WHERE grain = 'day'
),
versions AS (
    SELECT
        v.model_version,
        u.first_used,
        u.last_used,
        lag(v.model_version) OVER (ORDER BY u.first_used NULLS LAST, v.model_version)
            AS previous_version
    FROM (SELECT DISTINCT model_version FROM core.topics) AS v
    LEFT JOIN (
        SELECT model_version, min(run_date) AS first_used, max(run_date) AS last_used
        FROM used_days
        GROUP BY ALL
    ) AS u USING (model_version)
),
current_version AS (
    SELECT max(model_version) AS model_version
    FROM used_days
    WHERE run_date = (SELECT max(run_date) FROM used_days)
),
tokens AS (
    SELECT DISTINCT model_version, topic_id, token
    FROM (
        SELECT
            model_version,
            topic_id,
            unnest(string_split(regexp_replace(lower(words), '[,\s]+', ' ', 'g'), ' ')) AS token
        FROM core.topics
        -- Only listed topics are matched: a counterpart the catalogue hides would show that
        -- it exists (a topic whose only match is hidden is new to the analyst, who never saw
        -- the other).
        WHERE topic_id <> -1
          AND (model_version, topic_id) IN (
              SELECT (model_version, topic_id) FROM core.topic_visibility WHERE NOT hidden)
    )
    WHERE token <> ''
),
token_counts AS (
    SELECT model_version, topic_id, count(*) AS n FROM tokens GROUP BY ALL
),
shared_tokens AS (
    SELECT
        t.model_version,
        t.topic_id,
        p.topic_id AS other_topic_id,
        count(*) AS common
    FROM tokens AS t
    JOIN versions AS v USING (model_version)
    JOIN tokens AS p ON p.model_version = v.previous_version AND p.token = t.token
    GROUP BY ALL
),
similarity AS (
    SELECT
        o.model_version,
        o.topic_id,
        -- Ties go to the lowest topic id, so reruns pick the same counterpart.
        arg_max(o.other_topic_id,
                o.common / (a.n + b.n - o.common)::DOUBLE * 1e6 - o.other_topic_id * 1e-3)
            AS counterpart_topic_id,
        max(o.common / (a.n + b.n - o.common)::DOUBLE) AS counterpart_similarity
    FROM shared_tokens AS o
    JOIN token_counts AS a ON a.model_version = o.model_version AND a.topic_id = o.topic_id
    JOIN versions AS v ON v.model_version = o.model_version
    JOIN token_counts AS b ON b.model_version = v.previous_version AND b.topic_id = o.other_topic_id
    GROUP BY ALL
),
visible AS (
    SELECT
        t.*,
        v.first_used,
        v.last_used,
        v.previous_version,
        vis.users AS topic_users,
        s.counterpart_topic_id,
        s.counterpart_similarity
    FROM core.topics AS t
    JOIN versions AS v USING (model_version)
    JOIN core.topic_visibility AS vis USING (model_version, topic_id)
    LEFT JOIN similarity AS s USING (model_version, topic_id)
    WHERE NOT vis.hidden
)
SELECT
    c.model_version,
    c.topic_id,
    c.label,
    c.words                                                     AS top_words,
    c.size,
    c.category,
    c.topic_users                                               AS users,
    c.first_used,
    c.last_used,
    coalesce(c.model_version = cur.model_version, FALSE)        AS is_current_model,
    c.previous_version,
    c.topic_id <> -1 AND c.previous_version IS NOT NULL
        AND coalesce(c.counterpart_similarity, 0) < p.topic_match_similarity AS is_new,
    c.counterpart_topic_id,
    round(c.counterpart_similarity, 3)                          AS counterpart_similarity,
    FALSE                                                       AS suppressed
FROM visible AS c
LEFT JOIN current_version AS cur ON TRUE
CROSS JOIN ops.trend_parameters AS p
ORDER BY c.first_used NULLS LAST, c.model_version, c.topic_id;

CREATE TABLE IF NOT EXISTS analytics.topics AS SELECT * FROM topics_rebuilt LIMIT 0;

-- The topics whose catalogue entry, as analytics.topic_trends shows it, changed in this build:
-- their trend rows are rewritten in every period (models/analytics/031_topic_trends.sql).
CREATE OR REPLACE TEMP TABLE topics_changed AS
SELECT DISTINCT model_version, topic_id
FROM (
    (SELECT model_version, topic_id, label, is_new, is_current_model, first_used
     FROM topics_rebuilt
     EXCEPT
     SELECT model_version, topic_id, label, is_new, is_current_model, first_used
     FROM analytics.topics)
    UNION ALL
    (SELECT model_version, topic_id, label, is_new, is_current_model, first_used
     FROM analytics.topics
     EXCEPT
     SELECT model_version, topic_id, label, is_new, is_current_model, first_used
     FROM topics_rebuilt)
);

DELETE FROM analytics.topics;
INSERT INTO analytics.topics BY NAME SELECT * FROM topics_rebuilt;
