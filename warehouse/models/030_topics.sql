-- analytics.topics: the topic catalogue of every model version a published run used.
-- is_new: the topic has no counterpart in the previous model version (the one used before
-- it), i.e. no topic there whose top-word tokens overlap with a Jaccard similarity of at
-- least ops.trend_parameters.topic_match_similarity; counterpart_* name the best match.
-- A topic classified for fewer distinct users than its category's threshold is suppressed
-- (label, words, size and users NULL), and so is the next smallest topic of its model
-- version when it is the only one, so that size cannot be recovered from the model's total.
CREATE OR REPLACE TEMP TABLE topics_rebuilt AS
WITH default_threshold AS (
    SELECT coalesce(max(min_users), 2147483647) AS min_users
    FROM ops.privacy_thresholds
    WHERE category = '*'
),
usage AS (
    -- core.topic_users: one row per topic and user who asked about it on any loaded date.
    SELECT
        model_version,
        topic_id,
        count(*) AS users
    FROM core.topic_users
    GROUP BY ALL
),
used_days AS (
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
        WHERE topic_id <> -1
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
flagged AS (
    SELECT
        t.*,
        v.first_used,
        v.last_used,
        v.previous_version,
        coalesce(u.users, 0) AS topic_users,
        coalesce(th.min_users, d.min_users) AS min_users,
        coalesce(u.users, 0) < coalesce(th.min_users, d.min_users) AS small_group,
        s.counterpart_topic_id,
        s.counterpart_similarity
    FROM core.topics AS t
    JOIN versions AS v USING (model_version)
    LEFT JOIN usage AS u USING (model_version, topic_id)
    LEFT JOIN core.category_thresholds AS th ON th.category = t.category
    LEFT JOIN similarity AS s USING (model_version, topic_id)
    CROSS JOIN default_threshold AS d
),
complemented AS (
    SELECT
        *,
        small_group OR (
            count(*) FILTER (WHERE small_group) OVER (PARTITION BY model_version) = 1
            AND NOT small_group
            AND row_number() OVER (PARTITION BY model_version, small_group
                                   ORDER BY size, topic_id) = 1
        ) AS suppressed
    FROM flagged
)
SELECT
    c.model_version,
    c.topic_id,
    CASE WHEN c.suppressed THEN NULL ELSE c.label END           AS label,
    CASE WHEN c.suppressed THEN NULL ELSE c.words END           AS top_words,
    CASE WHEN c.suppressed THEN NULL ELSE c.size END            AS size,
    c.category,
    CASE WHEN c.suppressed THEN NULL ELSE c.topic_users END     AS users,
    c.first_used,
    c.last_used,
    coalesce(c.model_version = cur.model_version, FALSE)        AS is_current_model,
    c.previous_version,
    c.topic_id <> -1 AND c.previous_version IS NOT NULL
        AND coalesce(c.counterpart_similarity, 0) < p.topic_match_similarity AS is_new,
    c.counterpart_topic_id,
    round(c.counterpart_similarity, 3)                          AS counterpart_similarity,
    c.suppressed
FROM complemented AS c
LEFT JOIN current_version AS cur ON TRUE
CROSS JOIN ops.trend_parameters AS p
ORDER BY c.first_used NULLS LAST, c.model_version, c.topic_id;

CREATE TABLE IF NOT EXISTS analytics.topics AS SELECT * FROM topics_rebuilt LIMIT 0;

-- The topics whose catalogue entry, as analytics.topic_trends shows it, changed in this build:
-- their trend rows are rewritten in every period (models/031_topic_trends.sql).
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
