-- analytics.alerts: one row per alert ever raised (ops.alert_log), with the run that first
-- raised it. status 'active': the current data still supports it, and the columns show its
-- latest spike period. status 'withdrawn': a rerun or backfill changed the data and the alert
-- no longer holds; only what and where are shown, since the cell may now be hidden. A withdrawn
-- emerging-topic alert whose topic the catalogue no longer lists (hidden since, with all its
-- cells: models/core/002_category_cells.sql) does not name the topic: its id would tell that a
-- hidden topic exists.
CREATE OR REPLACE TABLE analytics.alerts AS
SELECT
    l.alert_id,
    CASE WHEN a.alert_id IS NULL THEN 'withdrawn' ELSE 'active' END AS status,
    l.run_id,
    l.run_date                                            AS detected_on,
    l.logged_at                                           AS detected_at,
    l.rule                                                AS kind,
    l.grain,
    CASE WHEN l.department = '(all)' THEN 'company' ELSE 'department' END AS scope,
    l.department,
    l.category,
    l.model_version,
    CASE WHEN a.alert_id IS NOT NULL OR t.topic_id IS NOT NULL THEN l.topic_id END AS topic_id,
    a.topic_label,
    l.since,
    coalesce(a.period, l.period)                          AS period,
    a.spike_periods,
    a.prompts,
    a.users,
    a.share,
    a.baseline_share,
    a.ratio,
    a.spike_score,
    a.peak_score,
    a.model_changed,
    coalesce(a.headline, l.rule || ' withdrawn') AS headline
FROM ops.alert_log AS l
LEFT JOIN core.alert_candidates AS a USING (alert_id)
LEFT JOIN analytics.topics AS t ON t.model_version = l.model_version AND t.topic_id = l.topic_id
ORDER BY l.run_date, l.since, l.alert_id;
