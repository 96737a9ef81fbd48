-- core.cell_suppression: which non-empty cell of every analyst-facing grid is hidden, and why.
--
-- Primary suppression: a cell with fewer distinct users than its threshold (small_group).
-- Complementary suppression: a published total minus the visible cells of its group must not
-- give back a single hidden cell, so while a group whose total is visible has exactly one
-- hidden member, its smallest visible member (fewest prompts, then cell_id) is hidden too, or,
-- if it has no visible member left, its total. The groups, each a set of cells that add up to
-- a published total:
--   g1  the departments of one period and category; total: the company-wide '(all)' cell
--   g2  the categories of one period and department (or the topics of one period and model
--       version); total: the department's period total, published implicitly through every
--       visible share (for topics it is treated as always visible: the company total is
--       published by the category tables)
--   g3  the days of one ISO week for one department and category (or one topic); total: the
--       weekly cell
-- Hiding a cell can leave another group with a single hidden member, so the rule is applied
-- until nothing changes (a fixpoint; hiding only ever grows, so it ends). The same algorithm
-- is described in docs/analytics.md and verified after every build by
-- checks/complementary_suppression.sql.
--
-- Every group lies inside one ISO week (g1 and g2 inside one period, g3 inside one week), so
-- the fixpoint runs per week, and only for the weeks whose cells (id, prompts, small_group)
-- differ from the ones their stored decision was made on: after a nightly run that is the
-- run date's week; after a change of thresholds, every week. passes counts the week's passes.
-- Weeks before build_from (models/000_build_scope.sql) keep their cells, so only the weeks from
-- there on are compared.
CREATE OR REPLACE TEMP TABLE suppression_inputs AS
SELECT
    concat_ws('|', 'category', grain, period, department, category) AS cell_id,
    week_start,
    prompts,
    small_group,
    concat_ws('|', 'category', grain, period, category)              AS g1_key,
    department = '(all)'                                             AS g1_total,
    concat_ws('|', 'category', grain, period, department)            AS g2_key,
    FALSE                                                            AS g2_always,
    concat_ws('|', 'category', week_start, department, category)     AS g3_key,
    grain = 'week'                                                   AS g3_total
FROM core.category_cells
WHERE prompts > 0 AND week_start >= (SELECT period FROM build_from)
UNION ALL
SELECT
    concat_ws('|', 'topic', grain, period, model_version, topic_id),
    week_start,
    prompts,
    small_group,
    NULL,
    FALSE,
    concat_ws('|', 'topic', grain, period, model_version),
    TRUE,
    concat_ws('|', 'topic', week_start, model_version, topic_id),
    grain = 'week'
FROM core.topic_cells
WHERE prompts > 0 AND week_start >= (SELECT period FROM build_from);

CREATE OR REPLACE TEMP TABLE suppression_weeks AS
SELECT DISTINCT week_start
FROM (
    (SELECT cell_id, week_start, prompts, small_group FROM suppression_inputs
     EXCEPT
     SELECT cell_id, week_start, prompts, small_group FROM core.cell_suppression)
    UNION ALL
    (SELECT cell_id, week_start, prompts, small_group FROM core.cell_suppression
     WHERE week_start >= (SELECT period FROM build_from)
     EXCEPT
     SELECT cell_id, week_start, prompts, small_group FROM suppression_inputs)
);

DELETE FROM core.cell_suppression
WHERE week_start IN (SELECT week_start FROM suppression_weeks);

INSERT INTO core.cell_suppression
    (cell_id, week_start, prompts, small_group, suppressed, reason, passes)
WITH RECURSIVE cells AS (
    SELECT *
    FROM suppression_inputs
    WHERE week_start IN (SELECT week_start FROM suppression_weeks)
),
fixpoint (step, cell_id, week_start, prompts, small_group, g1_key, g1_total, g2_key,
          g2_always, g3_key, g3_total, suppressed) AS (
    SELECT 0, cell_id, week_start, prompts, small_group, g1_key, g1_total, g2_key, g2_always,
           g3_key, g3_total, small_group
    FROM cells
    UNION ALL
    SELECT step + 1, cell_id, week_start, prompts, small_group, g1_key, g1_total, g2_key,
           g2_always, g3_key, g3_total, next_suppressed
    FROM (
        SELECT
            *,
            bool_or(next_suppressed AND NOT suppressed) OVER (PARTITION BY week_start)
                AS changed
        FROM (
                SELECT
                    *,
                    suppressed
                    OR (g1_key IS NOT NULL AND g1_total_visible AND g1_hidden = 1 AND (
                            (NOT g1_total AND NOT suppressed AND g1_rank = 1)
                            OR (g1_total AND NOT suppressed AND g1_visible = 0)))
                    OR ((g2_always OR g2_visible > 0) AND g2_hidden = 1
                        AND NOT suppressed AND g2_rank = 1)
                    OR (g3_total_visible AND g3_hidden = 1 AND (
                            (NOT g3_total AND NOT suppressed AND g3_rank = 1)
                            OR (g3_total AND NOT suppressed AND g3_visible = 0)))
                    AS next_suppressed
                FROM (
                    SELECT
                        *,
                        count(*) FILTER (WHERE suppressed AND NOT g1_total) OVER g1     AS g1_hidden,
                        count(*) FILTER (WHERE NOT suppressed AND NOT g1_total) OVER g1 AS g1_visible,
                        coalesce(bool_or(g1_total AND NOT suppressed) OVER g1, FALSE)
                            AS g1_total_visible,
                        row_number() OVER (
                            PARTITION BY g1_key, (NOT suppressed AND NOT g1_total)
                            ORDER BY prompts, cell_id)                                  AS g1_rank,
                        count(*) FILTER (WHERE suppressed) OVER g2                      AS g2_hidden,
                        count(*) FILTER (WHERE NOT suppressed) OVER g2                  AS g2_visible,
                        row_number() OVER (
                            PARTITION BY g2_key, NOT suppressed ORDER BY prompts, cell_id)
                            AS g2_rank,
                        count(*) FILTER (WHERE suppressed AND NOT g3_total) OVER g3     AS g3_hidden,
                        count(*) FILTER (WHERE NOT suppressed AND NOT g3_total) OVER g3 AS g3_visible,
                        coalesce(bool_or(g3_total AND NOT suppressed) OVER g3, FALSE)
                            AS g3_total_visible,
                        row_number() OVER (
                            PARTITION BY g3_key, (NOT suppressed AND NOT g3_total)
                            ORDER BY prompts, cell_id)                                  AS g3_rank
                    FROM fixpoint
                    WINDOW g1 AS (PARTITION BY g1_key),
                           g2 AS (PARTITION BY g2_key),
                           g3 AS (PARTITION BY g3_key)
                ) AS counted
            ) AS decided
        ) AS stepped
        WHERE changed AND step < 1000
)
SELECT
    cell_id,
    week_start,
    prompts,
    small_group,
    suppressed,
    CASE
        WHEN small_group THEN 'small_group'
        WHEN suppressed THEN 'complementary'
    END AS reason,
    step AS passes
FROM fixpoint
QUALIFY step = max(step) OVER (PARTITION BY week_start);
