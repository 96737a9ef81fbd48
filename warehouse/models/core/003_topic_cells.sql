-- takes: build_from, build_rows, build_scope_weeks
-- core.topic_cell_counts (restricted): prompts and distinct users per period (day, ISO week),
-- model version and topic, for every cell with prompts; recounted only for the ISO weeks of the
-- dates this build replaced, like core.category_cell_counts.
DELETE FROM core.topic_cell_counts
WHERE week_start IN (SELECT week_start FROM build_scope_weeks);

INSERT INTO core.topic_cell_counts
    (grain, period, week_start, model_version, topic_id, prompts, users)
WITH prompts AS (
    SELECT
        run_date                            AS day,
        date_trunc('week', run_date)::DATE  AS week_start,
        model_version,
        topic_id,
        user_hash
    FROM build_rows
)
SELECT 'day', day, week_start, model_version, topic_id, count(*), count(DISTINCT user_hash)
FROM prompts GROUP BY ALL
UNION ALL
SELECT 'week', week_start, week_start, model_version, topic_id, count(*),
       count(DISTINCT user_hash)
FROM prompts GROUP BY ALL;

-- core.topic_cells (restricted: raw, unsuppressed counts). The counts of
-- core.topic_cell_counts, company-wide, on a dense grid over the
-- topics of every model version used in the period. period_prompts counts the prompts that
-- model version classified in the period, so a topic's share is comparable week to week even
-- in a week where a refit switched models. Recomputed from build_from on, like
-- core.category_cells.
CREATE OR REPLACE TEMP TABLE topic_cells_rebuilt AS
WITH default_threshold AS (
    SELECT coalesce(max(min_users), 2147483647) AS min_users
    FROM ops.privacy_thresholds
    WHERE category = '*'
),
counted AS (
    SELECT grain, period, model_version, topic_id, prompts, users
    FROM core.topic_cell_counts
    WHERE week_start >= (SELECT period FROM build_from)
),
loaded AS (
    SELECT min(period) AS first_day, max(period) AS last_day
    FROM core.topic_cell_counts
    WHERE grain = 'day'
),
used AS (
    SELECT DISTINCT grain, period, model_version FROM counted
),
grid AS (
    SELECT used.grain, used.period, used.model_version, topics.topic_id
    FROM used
    JOIN core.topics AS topics USING (model_version)
    UNION
    SELECT grain, period, model_version, topic_id FROM counted
),
catalogue AS (
    SELECT model_version, topic_id, category FROM core.topics
),
filled AS (
    SELECT
        grid.*,
        coalesce(counted.prompts, 0) AS prompts,
        coalesce(counted.users, 0)   AS users
    FROM grid
    LEFT JOIN counted USING (grain, period, model_version, topic_id)
)
SELECT
    filled.grain,
    filled.period,
    date_trunc('week', filled.period)::DATE AS week_start,
    CASE
        WHEN filled.grain = 'week' THEN 'week'
        WHEN isodow(filled.period) >= 6 THEN 'weekend'
        ELSE 'weekday'
    END AS series_type,
    filled.grain = 'day'
        OR (filled.period >= loaded.first_day AND filled.period + 6 <= loaded.last_day)
        AS complete,
    filled.model_version,
    filled.topic_id,
    catalogue.category AS topic_category,
    filled.prompts,
    filled.users,
    sum(filled.prompts) OVER (PARTITION BY filled.grain, filled.period, filled.model_version)
        AS period_prompts,
    coalesce(t.min_users, default_threshold.min_users) AS min_users,
    filled.prompts > 0
        AND filled.users < coalesce(t.min_users, default_threshold.min_users) AS small_group
FROM filled
LEFT JOIN catalogue USING (model_version, topic_id)
LEFT JOIN core.category_thresholds AS t ON t.category = catalogue.category
CROSS JOIN default_threshold
CROSS JOIN loaded;

CREATE TABLE IF NOT EXISTS core.topic_cells AS SELECT * FROM topic_cells_rebuilt LIMIT 0;
DELETE FROM core.topic_cells WHERE period >= (SELECT period FROM build_from);
INSERT INTO core.topic_cells BY NAME SELECT * FROM topic_cells_rebuilt;
