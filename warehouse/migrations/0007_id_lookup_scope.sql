-- The per-date files whose prompt ids the publishing run already compared with its own, in one
-- lookup before its duplicate stage (insight_core.warehouse.look_up_loaded_ids). Replaced by
-- every publication; empty when it made no lookup. checks/unique_prompt_ids.sql reads only the
-- other dates' files, so a night with random ids does not read every date's ids twice.
CREATE TABLE IF NOT EXISTS ops.id_lookup_partitions (
    path VARCHAR NOT NULL
);
