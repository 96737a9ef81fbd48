-- takes: baseline_pending, build_from, build_rows, category_gated, topic_gated
-- Distinct users behind each visible scored cell's baseline window (category cells) or history
-- window (topic cells): the baseline and score are published only when that group reaches the
-- cell's threshold. When the window's busiest single period already reaches it, that
-- period's users stand in (baseline_users is then a lower bound, and the baseline is shown
-- exactly as an exact count would decide). Otherwise the cells in baseline_pending
-- (models/core/005, 006) are counted from build_rows (the per-prompt rows of the dates inside their
-- windows), and every other cell keeps its stored count in core.baseline_users.
DELETE FROM core.baseline_users
WHERE cell_id IN (SELECT cell_id FROM baseline_pending);

INSERT INTO core.baseline_users (cell_id, period, baseline_from, baseline_users)
WITH days AS (
    -- One row per user and day of each series: prompts beyond a user's first add nothing.
    SELECT DISTINCT
        run_date,
        isodow(run_date) >= 6 AS weekend,
        department,
        category,
        model_version,
        topic_id,
        user_hash
    FROM build_rows
    WHERE category IN (SELECT category FROM baseline_pending)
       OR topic_id IN (SELECT topic_id FROM baseline_pending)
),
category_users AS (
    -- Department cells join on their department, company cells ('(all)') on every one.
    SELECT g.cell_id, g.period, g.baseline_from, count(DISTINCT c.user_hash) AS baseline_users
    FROM baseline_pending AS g
    LEFT JOIN days AS c
        ON c.category = g.category
        AND c.department = g.department
        AND c.run_date >= g.baseline_from
        AND c.run_date < g.period
        AND (g.grain = 'week' OR c.weekend = (g.series_type = 'weekend'))
    WHERE g.topic_id IS NULL AND g.department <> '(all)'
    GROUP BY ALL
    UNION ALL
    SELECT g.cell_id, g.period, g.baseline_from, count(DISTINCT c.user_hash) AS baseline_users
    FROM baseline_pending AS g
    LEFT JOIN days AS c
        ON c.category = g.category
        AND c.run_date >= g.baseline_from
        AND c.run_date < g.period
        AND (g.grain = 'week' OR c.weekend = (g.series_type = 'weekend'))
    WHERE g.topic_id IS NULL AND g.department = '(all)'
    GROUP BY ALL
),
topic_users AS (
    SELECT g.cell_id, g.period, g.baseline_from, count(DISTINCT c.user_hash) AS baseline_users
    FROM baseline_pending AS g
    LEFT JOIN days AS c
        ON c.model_version = g.model_version
        AND c.topic_id = g.topic_id
        AND c.run_date >= g.baseline_from
        AND c.run_date < g.period
        AND (g.grain = 'week' OR c.weekend = (g.series_type = 'weekend'))
    WHERE g.topic_id IS NOT NULL
    GROUP BY ALL
)
SELECT * FROM category_users
UNION ALL
SELECT * FROM topic_users;

-- core.category_scores (restricted): every category cell with its share, its trailing
-- baseline and its spike score, whether it is visible, and the streak it belongs to (the
-- score is explained in models/core/005_category_scores.sql). Rewritten from build_from on
-- (models/core/000_build_scope.sql); earlier periods keep their rows.
CREATE OR REPLACE TEMP TABLE category_scores_rebuilt AS
WITH streaks AS (
    SELECT
        g.*,
        CASE WHEN NOT (g.prompts > 0 AND NOT g.suppressed AND g.spike_score IS NOT NULL) THEN 0
             WHEN g.baseline_floor >= g.min_users THEN g.baseline_floor
             ELSE coalesce(b.baseline_users, 0) END AS baseline_users,
        -- A streak is a run of elevated periods of one series; a period that is not elevated
        -- (or cannot be scored) closes it.
        sum(CASE WHEN g.elevated THEN 0 ELSE 1 END) OVER (
            PARTITION BY g.grain, g.series_type, g.department, g.category
            ORDER BY g.period ROWS UNBOUNDED PRECEDING) AS streak_group
    FROM category_gated AS g
    LEFT JOIN core.baseline_users AS b
        ON b.cell_id = g.cell_id AND b.baseline_from = g.baseline_from AND b.period = g.period
)
SELECT
    *,
    baseline_users >= min_users AS baseline_visible,
    CASE WHEN elevated THEN min(period) FILTER (WHERE elevated) OVER (
        PARTITION BY grain, series_type, department, category, streak_group) END AS streak_since
FROM streaks;

CREATE TABLE IF NOT EXISTS core.category_scores AS
SELECT * EXCLUDE (streak_group) FROM category_scores_rebuilt LIMIT 0;

-- The streak open at a series' last earlier period goes on in its first rewritten ones.
UPDATE category_scores_rebuilt AS r
SET streak_since = c.streak_since
FROM (
    SELECT grain, series_type, department, category, streak_since
    FROM core.category_scores
    WHERE period < (SELECT period FROM build_from)
    QUALIFY row_number() OVER (
        PARTITION BY grain, series_type, department, category ORDER BY period DESC) = 1
) AS c
WHERE r.elevated AND r.streak_group = 0 AND c.streak_since IS NOT NULL
  AND r.grain = c.grain
  AND r.series_type = c.series_type
  AND r.department = c.department
  AND r.category = c.category;

DELETE FROM core.category_scores WHERE period >= (SELECT period FROM build_from);
INSERT INTO core.category_scores BY NAME
SELECT * EXCLUDE (streak_group) FROM category_scores_rebuilt;

-- core.topic_scores (restricted): the same for every topic cell (models/core/006_topic_scores.sql).
CREATE OR REPLACE TEMP TABLE topic_scores_rebuilt AS
WITH streaks AS (
    SELECT
        g.*,
        CASE WHEN NOT (g.prompts > 0 AND NOT g.suppressed AND g.from_history) THEN 0
             WHEN g.history_floor >= g.min_users THEN g.history_floor
             ELSE coalesce(b.baseline_users, 0) END AS baseline_users,
        -- A streak is a run of elevated periods of one series; a period that is not elevated
        -- (or cannot be scored) closes it.
        sum(CASE WHEN g.elevated THEN 0 ELSE 1 END) OVER (
            PARTITION BY g.grain, g.series_type, g.model_version, g.topic_id
            ORDER BY g.period ROWS UNBOUNDED PRECEDING) AS streak_group
    FROM topic_gated AS g
    LEFT JOIN core.baseline_users AS b
        ON b.cell_id = g.cell_id AND b.baseline_from = g.history_from AND b.period = g.period
)
SELECT
    *,
    baseline_users >= min_users AS baseline_visible,
    CASE WHEN elevated THEN min(period) FILTER (WHERE elevated) OVER (
        PARTITION BY grain, series_type, model_version, topic_id, streak_group) END
        AS streak_since
FROM streaks;

CREATE TABLE IF NOT EXISTS core.topic_scores AS
SELECT * EXCLUDE (streak_group) FROM topic_scores_rebuilt LIMIT 0;

-- The streak open at a series' last earlier period goes on in its first rewritten ones.
UPDATE topic_scores_rebuilt AS r
SET streak_since = c.streak_since
FROM (
    SELECT grain, series_type, model_version, topic_id, streak_since
    FROM core.topic_scores
    WHERE period < (SELECT period FROM build_from)
    QUALIFY row_number() OVER (
        PARTITION BY grain, series_type, model_version, topic_id ORDER BY period DESC) = 1
) AS c
WHERE r.elevated AND r.streak_group = 0 AND c.streak_since IS NOT NULL
  AND r.grain = c.grain
  AND r.series_type = c.series_type
  AND r.model_version = c.model_version
  AND r.topic_id = c.topic_id;

DELETE FROM core.topic_scores WHERE period >= (SELECT period FROM build_from);
INSERT INTO core.topic_scores BY NAME SELECT * EXCLUDE (streak_group) FROM topic_scores_rebuilt;
