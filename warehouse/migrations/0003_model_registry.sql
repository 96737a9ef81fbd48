-- The MLflow registered model version behind each run and each model bundle.
ALTER TABLE ops.runs ADD COLUMN IF NOT EXISTS registry_version VARCHAR;
ALTER TABLE ops.model_versions ADD COLUMN IF NOT EXISTS registry_version VARCHAR;
