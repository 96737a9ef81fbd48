-- takes: build_from, build_rows, build_scope_weeks
-- core.category_cell_counts (restricted): prompts and distinct users per period (day, ISO week
-- starting Monday), department ('(all)' = the whole company) and category, for every cell with
-- prompts. Only the ISO weeks of the dates this build replaced are recounted (build_rows holds
-- their per-prompt rows); every other week keeps its counts.
DELETE FROM core.category_cell_counts
WHERE week_start IN (SELECT week_start FROM build_scope_weeks);

INSERT INTO core.category_cell_counts
    (grain, period, week_start, department, category, prompts, users)
WITH prompts AS (
    SELECT
        run_date                            AS day,
        date_trunc('week', run_date)::DATE  AS week_start,
        department,
        category,
        user_hash
    FROM build_rows
)
SELECT 'day', day, week_start, department, category, count(*), count(DISTINCT user_hash)
FROM prompts GROUP BY ALL
UNION ALL
SELECT 'day', day, week_start, '(all)', category, count(*), count(DISTINCT user_hash)
FROM prompts GROUP BY ALL
UNION ALL
SELECT 'week', week_start, week_start, department, category, count(*), count(DISTINCT user_hash)
FROM prompts GROUP BY ALL
UNION ALL
SELECT 'week', week_start, week_start, '(all)', category, count(*), count(DISTINCT user_hash)
FROM prompts GROUP BY ALL;

-- core.category_thresholds: the minimum distinct users of a visible cell, per category: the
-- stricter of the category's own threshold and the default ('*') in ops.privacy_thresholds.
-- Without a default row every cell is suppressed (fail closed; checks/ reports it too).
CREATE OR REPLACE TABLE core.category_thresholds AS
WITH default_threshold AS (
    SELECT coalesce(max(min_users), 2147483647) AS min_users
    FROM ops.privacy_thresholds
    WHERE category = '*'
),
known AS (
    SELECT category FROM ops.categories
    UNION
    SELECT category FROM core.category_cell_counts
    UNION
    SELECT category FROM core.topics WHERE category IS NOT NULL
)
SELECT
    known.category,
    greatest(coalesce(specific.min_users, 0), default_threshold.min_users) AS min_users
FROM known
CROSS JOIN default_threshold
LEFT JOIN ops.privacy_thresholds AS specific
    ON specific.category = known.category AND specific.category <> '*';

-- core.topic_visibility (restricted): which topic of each model version's catalogue
-- (analytics.topics, models/analytics/030_topics.sql) is hidden, and why. A topic is a small group when
-- some, but fewer distinct people than its category's threshold (the default without a
-- category) asked about it on any loaded date (core.topic_users). Its catalogue entry is the model's, not a
-- period's, so the rule of complementary suppression applies once per model version, to one
-- family: the version's topics, whose training sizes add up to the version's training
-- documents. Its hidden topics are none, or at least two whose people together (distinct users
-- over the union) reach the strictest threshold among them; otherwise the next smallest visible
-- topic (training size, then topic id) is hidden too, as insight_core/suppression.py does for
-- the cells. With one family that greedy loop is a choice of k, the number of complements:
-- the smallest k that satisfies the rule, or every topic when none does.
-- A hidden topic has no catalogue row, and its cells are hidden in every period
-- (models/core/004_cell_suppression.sql): a trend row would name a topic the catalogue does not
-- list. It is part of the fingerprint below, so a topic crossing the threshold rewrites every
-- period.
CREATE OR REPLACE TABLE core.topic_visibility AS
WITH default_threshold AS (
    SELECT coalesce(max(min_users), 2147483647) AS min_users
    FROM ops.privacy_thresholds
    WHERE category = '*'
),
usage AS (
    SELECT model_version, topic_id, count(*) AS users
    FROM core.topic_users
    GROUP BY ALL
),
flagged AS (
    SELECT
        t.model_version,
        t.topic_id,
        t.size,
        coalesce(u.users, 0) AS users,
        coalesce(th.min_users, d.min_users) AS min_users,
        -- A topic no one asked about is not a group of people, like an empty cell.
        coalesce(u.users, 0) > 0
            AND u.users < coalesce(th.min_users, d.min_users) AS small_group
    FROM core.topics AS t
    LEFT JOIN usage AS u USING (model_version, topic_id)
    LEFT JOIN core.category_thresholds AS th ON th.category = t.category
    CROSS JOIN default_threshold AS d
),
ranked AS (
    -- rank: 0 for a small group (always hidden), else the step at which it is hidden as a
    -- complement (smallest training size first, ties by topic id).
    SELECT
        *,
        CASE WHEN small_group THEN 0
             ELSE row_number() OVER (PARTITION BY model_version, small_group
                                     ORDER BY size, topic_id) END AS rank
    FROM flagged
),
steps AS (
    SELECT model_version, unnest(range(0, count(*) FILTER (WHERE NOT small_group) + 1)) AS k
    FROM ranked
    GROUP BY model_version
),
hidden_at AS (
    SELECT s.model_version, s.k, count(r.topic_id) AS hidden, max(r.min_users) AS needed
    FROM steps AS s
    LEFT JOIN ranked AS r ON r.model_version = s.model_version AND r.rank <= s.k
    GROUP BY ALL
),
entered AS (
    -- A person is in the hidden topics' union from the first step that hides one of theirs,
    -- so the union's size at step k is a running count (no set per step).
    SELECT u.model_version, min(r.rank) AS rank, u.user_hash
    FROM core.topic_users AS u
    JOIN ranked AS r USING (model_version, topic_id)
    GROUP BY u.model_version, u.user_hash
),
entered_at AS (
    SELECT model_version, rank, count(*) AS people FROM entered GROUP BY ALL
),
people_at AS (
    SELECT s.model_version, s.k, coalesce(sum(e.people), 0) AS people
    FROM steps AS s
    LEFT JOIN entered_at AS e ON e.model_version = s.model_version AND e.rank <= s.k
    GROUP BY ALL
),
chosen AS (
    SELECT
        h.model_version,
        coalesce(min(h.k) FILTER (WHERE h.hidden = 0 OR (h.hidden >= 2 AND p.people >= h.needed)),
                 max(h.k)) AS k
    FROM hidden_at AS h
    JOIN people_at AS p USING (model_version, k)
    GROUP BY h.model_version
)
SELECT
    r.model_version,
    r.topic_id,
    r.users,
    r.min_users,
    r.small_group,
    r.rank <= c.k AS hidden,
    CASE WHEN r.small_group THEN 'small_group'
         WHEN r.rank <= c.k THEN 'complementary' END AS reason
FROM ranked AS r
JOIN chosen AS c USING (model_version);

-- What shapes the cells of every period, not only of the touched weeks: the grid's categories
-- and thresholds, its departments, the topic catalogue and the topics it hides, and the trend
-- parameters. When it differs from what the stored tables were built on, they are recomputed
-- from the first period (build_from, models/core/000_build_scope.sql).
CREATE OR REPLACE TEMP TABLE build_dimensions AS
SELECT md5(concat_ws(chr(10),
    (SELECT string_agg(t::VARCHAR, ';' ORDER BY t::VARCHAR) FROM core.category_thresholds AS t),
    (SELECT string_agg(t::VARCHAR, ';' ORDER BY t::VARCHAR) FROM ops.privacy_thresholds AS t),
    (SELECT string_agg(DISTINCT department, ';' ORDER BY department)
     FROM core.category_cell_counts),
    (SELECT string_agg(t::VARCHAR, ';' ORDER BY t::VARCHAR) FROM core.topics AS t),
    (SELECT string_agg(concat_ws('|', model_version, topic_id), ';'
                       ORDER BY model_version, topic_id)
     FROM core.topic_visibility WHERE hidden),
    (SELECT string_agg(t::VARCHAR, ';' ORDER BY t::VARCHAR) FROM ops.trend_parameters AS t)
)) AS fingerprint;

UPDATE build_from SET period = DATE '0001-01-01'
WHERE (SELECT fingerprint FROM build_dimensions)
      IS DISTINCT FROM (SELECT max(fingerprint) FROM ops.build_dimensions);

DELETE FROM ops.build_dimensions;
INSERT INTO ops.build_dimensions SELECT fingerprint FROM build_dimensions;

-- core.category_cells (restricted: raw, unsuppressed counts). The counts of
-- core.category_cell_counts on a dense grid: a quiet cell is a row with 0 prompts, because
-- baselines must count quiet periods too. period_prompts is the department's (or company's)
-- total of the period, the denominator of every share. Recomputed from build_from on.
CREATE OR REPLACE TEMP TABLE category_cells_rebuilt AS
WITH counted AS (
    SELECT grain, period, department, category, prompts, users
    FROM core.category_cell_counts
    WHERE week_start >= (SELECT period FROM build_from)
),
loaded AS (
    SELECT min(period) AS first_day, max(period) AS last_day
    FROM core.category_cell_counts
    WHERE grain = 'day'
),
periods AS (
    SELECT DISTINCT grain, period FROM counted
),
departments AS (
    SELECT DISTINCT department FROM core.category_cell_counts WHERE department <> '(all)'
    UNION ALL
    SELECT '(all)'
),
grid AS (
    SELECT periods.grain, periods.period, departments.department, t.category
    FROM periods
    CROSS JOIN departments
    CROSS JOIN core.category_thresholds AS t
),
filled AS (
    SELECT
        grid.*,
        coalesce(counted.prompts, 0) AS prompts,
        coalesce(counted.users, 0)   AS users
    FROM grid
    LEFT JOIN counted USING (grain, period, department, category)
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
    -- A week is complete once its Sunday is loaded and it started on or after the first day.
    filled.grain = 'day'
        OR (filled.period >= loaded.first_day AND filled.period + 6 <= loaded.last_day)
        AS complete,
    filled.department,
    filled.category,
    filled.prompts,
    filled.users,
    sum(filled.prompts) OVER (PARTITION BY filled.grain, filled.period, filled.department)
        AS period_prompts,
    t.min_users,
    filled.prompts > 0 AND filled.users < t.min_users AS small_group
FROM filled
JOIN core.category_thresholds AS t USING (category)
CROSS JOIN loaded;

CREATE TABLE IF NOT EXISTS core.category_cells AS SELECT * FROM category_cells_rebuilt LIMIT 0;
DELETE FROM core.category_cells WHERE period >= (SELECT period FROM build_from);
INSERT INTO core.category_cells BY NAME SELECT * FROM category_cells_rebuilt;
