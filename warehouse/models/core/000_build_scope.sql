-- takes: build_touched
-- hands over: build_dates, build_from, build_scope_weeks
-- The scope of this build. build_touched (temp, written by build_models) holds the dates whose
-- per-prompt rows this publication replaced (every loaded date on a full rebuild). Their ISO
-- weeks are the only cells whose counts can change: every suppression group and every count
-- lies inside one ISO week (models/core/004_cell_suppression.sql). build_dates are the loaded days
-- of those weeks; build_models shows their per-prompt rows as the view build_rows.
CREATE OR REPLACE TEMP TABLE build_scope_weeks AS
SELECT DISTINCT date_trunc('week', run_date)::DATE AS week_start FROM build_touched;

CREATE OR REPLACE TEMP TABLE build_dates AS
SELECT p.run_date
FROM ops.partitions AS p
WHERE p.dataset = 'classifications'
  AND date_trunc('week', p.run_date)::DATE IN (SELECT week_start FROM build_scope_weeks);

-- build_from: the first period (a Monday) whose aggregate rows this build may change; the
-- models recompute cells, suppression and scores only from there on and keep every earlier
-- row. A period before it keeps its counts (its week was not touched), its completeness (a
-- week is complete once its Sunday is loaded: hence the weeks of the last loaded day before
-- and after this publication) and its score (baselines and streaks only look back). Changes
-- that reshape every period (thresholds, categories, departments, topics) move it to the
-- first period (models/core/002_category_cells.sql). A full rebuild starts from nothing.
CREATE OR REPLACE TEMP TABLE build_from AS
SELECT coalesce(
    least(
        (SELECT min(week_start) FROM build_scope_weeks),
        (SELECT date_trunc('week', max(period))::DATE
         FROM core.category_cell_counts WHERE grain = 'day'),
        (SELECT date_trunc('week', max(run_date))::DATE
         FROM ops.partitions WHERE dataset = 'classifications')
    ),
    DATE '0001-01-01'
) AS period;
