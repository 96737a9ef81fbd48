-- The state the analytics models need beyond core: which run is building (so alerts can name
-- the run that first raised them) and the history of raised alerts, which cannot be derived
-- from core because "new in this run" depends on what earlier runs had already reported.

-- One row, rewritten by publish_run inside the load transaction, before the models run.
CREATE TABLE IF NOT EXISTS ops.build_context (
    run_id    VARCHAR NOT NULL,
    run_date  DATE    NOT NULL
);

-- Every alert ever raised, keyed by alert_id (a hash of rule, grain, department, category or
-- topic and the first period of its streak), so a rerun or a later run that sees the same
-- streak again never adds a second row. The snapshot columns record what the alert said when
-- it was first raised; analytics.alerts shows the current values of alerts still detected.
-- Rows are inserted by models/041_alert_log.sql and never updated or deleted by the build.
CREATE TABLE IF NOT EXISTS ops.alert_log (
    alert_id       VARCHAR PRIMARY KEY,
    run_id         VARCHAR NOT NULL,
    run_date       DATE    NOT NULL,
    logged_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    rule           VARCHAR NOT NULL,
    grain          VARCHAR NOT NULL,
    department     VARCHAR NOT NULL,
    category       VARCHAR,
    model_version  VARCHAR,
    topic_id       INTEGER,
    since          DATE    NOT NULL,
    period         DATE    NOT NULL,
    prompts        BIGINT,
    share          DOUBLE,
    spike_score    DOUBLE
);
