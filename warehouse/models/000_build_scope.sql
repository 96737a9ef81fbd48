-- The scope of this build. build_touched (temp, written by build_models) holds the dates whose
-- per-prompt rows this publication replaced (every loaded date on a full rebuild). Their ISO
-- weeks are the only cells whose counts can change: every suppression group and every count
-- lies inside one ISO week (models/004_cell_suppression.sql). build_dates are the loaded days
-- of those weeks; build_models shows their per-prompt rows as the view build_rows.
CREATE OR REPLACE TEMP TABLE build_scope_weeks AS
SELECT DISTINCT date_trunc('week', run_date)::DATE AS week_start FROM build_touched;

CREATE OR REPLACE TEMP TABLE build_dates AS
SELECT p.run_date
FROM ops.partitions AS p
WHERE p.dataset = 'classifications'
  AND date_trunc('week', p.run_date)::DATE IN (SELECT week_start FROM build_scope_weeks);
