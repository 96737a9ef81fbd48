-- takes: build_from, build_scope_weeks
-- hands over: suppression_inputs, suppression_weeks
-- core.cell_suppression: which non-empty cell of every analyst-facing grid is hidden, and why.
--
-- Primary suppression: a cell with fewer distinct users than its threshold (small_group).
-- Every cell of a topic the catalogue hides (core.topic_visibility) is primary too (reason
-- 'small_group').
-- Complementary suppression: what an analyst can subtract must never give back a group of
-- fewer people than the threshold, nor a single hidden cell. Prompt counts add up along the
-- published marginals, so every cell whose total is published (the parent) gives back the sum
-- of its hidden children. The families of parents and children:
--   departments   the company-wide '(all)' cell of a period and category; children: the
--                 departments' cells
--   categories    the company's total of a period (published through the topic tables, or
--                 through the category cells themselves); children: the company's category
--                 cells (department totals are not published: shares are of visible cells)
--   days          a weekly cell (department or company, category or topic); children: the
--                 cells of its days
--   topics        a model version's total of a period (its prompts); children: its topics
-- The rule, for every parent that is published: its hidden children are none, or at least two
-- whose distinct users together (over the union, counted from the per-prompt rows) reach the
-- strictest threshold among them. Otherwise the next smallest visible child (fewest prompts,
-- then cell_id) is hidden too, or the parent when no child is left. A hidden parent cell
-- whose children are all visible would be their sum, so its smallest child is hidden too.
-- Hiding can break another family's rule, so this is repeated until nothing changes (a
-- fixpoint; hiding only grows).
-- The fixpoint needs unions of user sets, so insight_core/suppression.py runs it on the cells
-- this file lists; warehouse/queries/cell_users.sql gives the user sets of the cells
-- with fewer users than the strictest threshold (larger ones reach any threshold alone).
-- checks/ and insight_core/disclosure_audit.py verify the published tables after every build.
--
-- Every family lies inside one ISO week, so the fixpoint runs per week, and only for the weeks
-- whose cells (id, prompts, small_group) differ from the ones their stored decision was made
-- on: after a nightly run that is the run date's week; after a change of thresholds, every
-- week. Weeks before build_from (models/core/000_build_scope.sql) keep their cells, so only the
-- weeks from there on are compared.
CREATE OR REPLACE TEMP TABLE suppression_inputs AS
SELECT
    concat_ws('|', 'category', grain, period, department, category) AS cell_id,
    'category'                                                       AS kind,
    grain,
    period,
    week_start,
    department,
    category,
    NULL::VARCHAR                                                    AS model_version,
    NULL::INTEGER                                                    AS topic_id,
    prompts,
    users,
    min_users,
    small_group
FROM core.category_cells
WHERE prompts > 0 AND week_start >= (SELECT period FROM build_from)
UNION ALL
SELECT
    concat_ws('|', 'topic', c.grain, c.period, c.model_version, c.topic_id),
    'topic',
    c.grain,
    c.period,
    c.week_start,
    '(all)',
    c.topic_category,
    c.model_version,
    c.topic_id,
    c.prompts,
    c.users,
    c.min_users,
    -- A topic the catalogue hides (core.topic_visibility, models/core/002_category_cells.sql) is
    -- hidden in every period like a small group: a trend row would name a topic that
    -- analytics.topics does not list, and the other cells must not give it back either.
    c.small_group OR coalesce(v.hidden, FALSE)
FROM core.topic_cells AS c
LEFT JOIN core.topic_visibility AS v USING (model_version, topic_id)
WHERE c.prompts > 0 AND c.week_start >= (SELECT period FROM build_from);

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
    -- The weeks whose per-prompt rows this build replaced: their user sets may have changed
    -- even where their counts did not.
    UNION ALL
    SELECT cell_id, week_start, prompts, small_group FROM suppression_inputs
    WHERE week_start IN (SELECT week_start FROM build_scope_weeks)
);

DELETE FROM core.cell_suppression
WHERE week_start IN (SELECT week_start FROM suppression_weeks);
