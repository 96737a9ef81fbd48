-- Alert messages sent to people (Slack, Teams, e-mail, a webhook: docs/operations.md), one row
-- per alert, state and channel. A night sends what analytics.alerts holds and this table does
-- not: 'raised' for a new alert, 'escalated' when its peak score reaches twice the spike score
-- after it was raised, 'withdrawn' when a rerun took back an alert people were told about. A
-- row 'sent' is never sent again (reruns send nothing new); a row 'failed' is retried by the
-- next night, which counts the attempt. Written by insight_core.nightly.alert_delivery.
CREATE TABLE IF NOT EXISTS ops.alert_deliveries (
    alert_id          VARCHAR     NOT NULL,
    state             VARCHAR     NOT NULL,
    channel           VARCHAR     NOT NULL,
    status            VARCHAR     NOT NULL,
    attempts          INTEGER     NOT NULL,
    first_attempt_at  TIMESTAMPTZ NOT NULL,
    last_attempt_at   TIMESTAMPTZ NOT NULL,
    sent_at           TIMESTAMPTZ,
    run_id            VARCHAR,
    peak_score        DOUBLE,
    error             VARCHAR,
    PRIMARY KEY (alert_id, state, channel)
);
