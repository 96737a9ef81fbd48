-- Schemas: core (restricted, per prompt, no text), analytics (analyst-facing, aggregated),
-- ops (runs, quarantine, configuration the SQL models read).
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE SCHEMA IF NOT EXISTS ops;

-- One row per loaded prompt. No prompt text, raw or redacted: user ids are keyed hashes.
-- prompt_id uniqueness is enforced by checks/unique_prompt_ids.sql rather than a PRIMARY KEY,
-- because a rerun deletes and re-inserts the same keys inside one transaction.
CREATE TABLE IF NOT EXISTS core.classifications (
    prompt_id      VARCHAR     NOT NULL,
    run_date       DATE        NOT NULL,
    event_ts       TIMESTAMPTZ NOT NULL,
    user_hash      VARCHAR     NOT NULL,
    department     VARCHAR     NOT NULL,
    tool           VARCHAR,
    category       VARCHAR     NOT NULL,
    decided_by     VARCHAR     NOT NULL,
    rule_id        VARCHAR,
    confidence     DOUBLE      NOT NULL,
    topic_id       INTEGER     NOT NULL,
    topic_label    VARCHAR     NOT NULL,
    topic_words    VARCHAR     NOT NULL,
    model_version  VARCHAR     NOT NULL,
    pii_redacted   INTEGER     NOT NULL,
    run_id         VARCHAR     NOT NULL
);

-- Topic catalogue of every model version used by a published run.
CREATE TABLE IF NOT EXISTS core.topics (
    model_version VARCHAR NOT NULL,
    topic_id      INTEGER NOT NULL,
    label         VARCHAR NOT NULL,
    words         VARCHAR NOT NULL,
    size          BIGINT  NOT NULL,
    category      VARCHAR
);

CREATE TABLE IF NOT EXISTS ops.model_versions (
    model_version    VARCHAR PRIMARY KEY,
    created_at       TIMESTAMPTZ,
    embedding_model  VARCHAR,
    taxonomy_version VARCHAR,
    rules_hash       VARCHAR,
    n_training_docs  BIGINT,
    n_topics         INTEGER,
    outlier_share    DOUBLE,
    manifest         JSON
);

-- Every run, successful or not. rows_read = rows_loaded + rows_quarantined + rows_duplicate.
CREATE TABLE IF NOT EXISTS ops.runs (
    run_id              VARCHAR PRIMARY KEY,
    run_date            DATE NOT NULL,
    status              VARCHAR NOT NULL,
    mode                VARCHAR,
    source              VARCHAR,
    flow_run_id         VARCHAR,
    mlflow_run_id       VARCHAR,
    model_version       VARCHAR,
    started_at          TIMESTAMPTZ,
    finished_at         TIMESTAMPTZ,
    rows_read           BIGINT,
    rows_loaded         BIGINT,
    rows_quarantined    BIGINT,
    rows_duplicate      BIGINT,
    rows_pii_redacted   BIGINT,
    rows_embedded_new   BIGINT,
    outlier_share       DOUBLE,
    rule_share          DOUBLE,
    stage_seconds       JSON,           -- busy seconds per stage, e.g. {"embed": 12.3}
    total_seconds       DOUBLE,
    prompts_per_second  DOUBLE,
    error               VARCHAR
);

-- Rows that failed validation, with every failed check. The record is redacted and its
-- user id hashed before it is stored, like everything else.
CREATE TABLE IF NOT EXISTS ops.quarantine (
    run_id         VARCHAR NOT NULL,
    run_date       DATE NOT NULL,
    source_row     BIGINT,
    prompt_id      VARCHAR,
    record         JSON NOT NULL,
    failed_checks  VARCHAR[] NOT NULL
);

-- Configuration the SQL models read; rewritten on every build from settings.
CREATE TABLE IF NOT EXISTS ops.privacy_thresholds (
    category   VARCHAR NOT NULL,   -- '*' is the default for every category
    min_users  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS ops.categories (
    category         VARCHAR NOT NULL,
    description      VARCHAR,
    taxonomy_version VARCHAR NOT NULL
);
