-- What the operator should know about a run although its status stands: the source's
-- warnings and, for a published run, anything that failed after the publication (keeping the
-- redacted texts, MLflow logging, a stop signal). See insight_core.warehouse.record_runs.
ALTER TABLE ops.runs ADD COLUMN IF NOT EXISTS warnings VARCHAR[];
