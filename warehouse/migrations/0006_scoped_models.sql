-- Models that only recompute the periods a publication can change (models/000_build_scope.sql).
-- A build compares a fingerprint of everything that shapes every period's cells (thresholds,
-- categories, departments, topic catalogue, trend parameters) with the one the stored tables
-- were built on; when it differs, the aggregate tables are recomputed from the first period.
CREATE TABLE IF NOT EXISTS ops.build_dimensions (
    fingerprint VARCHAR NOT NULL
);

-- The first period each build rewrote (build_from): the beginning of the history after a full
-- rebuild or a change of thresholds, categories, departments or topics; otherwise the week of
-- the earliest replaced date (or of the last loaded day, whose week may have become complete).
ALTER TABLE ops.model_builds ADD COLUMN IF NOT EXISTS rebuilt_from DATE;
