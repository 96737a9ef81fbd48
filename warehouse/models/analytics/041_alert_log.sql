-- ops.alert_log: record the alerts this build raises for the first time, with the run that
-- raised them (ops.build_context, written by publish_run before the models run). An alert
-- already logged is left alone, so a rerun or a later run never duplicates it and the log
-- keeps the run that first reported it. Without a build context nothing is logged.
INSERT INTO ops.alert_log
    (alert_id, run_id, run_date, rule, grain, department, category, model_version, topic_id,
     since, period, prompts, share, spike_score)
SELECT
    a.alert_id, b.run_id, b.run_date, a.kind, a.grain, a.department, a.category,
    a.model_version, a.topic_id, a.since, a.period, a.prompts, a.share, a.spike_score
FROM core.alert_candidates AS a
CROSS JOIN (SELECT run_id, run_date FROM ops.build_context LIMIT 1) AS b
WHERE NOT EXISTS (SELECT 1 FROM ops.alert_log AS l WHERE l.alert_id = a.alert_id)
ORDER BY a.alert_id;
