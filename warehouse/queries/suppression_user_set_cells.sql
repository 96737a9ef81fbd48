-- The cells of the weeks being decided whose users the fixpoint may have to unite: those with
-- fewer users than the strictest threshold (queries/cell_users.sql lists their users).
CREATE OR REPLACE TEMP TABLE user_set_cells AS
SELECT cell_id, kind, grain, period, week_start, department, category, model_version, topic_id
FROM suppression_inputs
WHERE week_start IN (SELECT week_start FROM suppression_weeks)
  AND users < (SELECT max(min_users) FROM suppression_inputs);
