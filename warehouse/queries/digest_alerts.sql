-- The weekly digest's alerts (insight_core/nightly/digest.py): alerts detected in the week from
-- $week_start, and alerts still active whose latest spike period falls in it. analytics.alerts
-- describes only visible cells (checks/alerts_describe_visible_cells.sql); a withdrawn alert
-- has no counts, only what and where.
SELECT alert_id, status, detected_on, kind, grain, department, category, topic_label, since,
       period, prompts, users, share, baseline_share, spike_score, peak_score, headline
FROM analytics.alerts
WHERE detected_on BETWEEN $week_start AND $week_start + 6
   OR (status = 'active' AND period BETWEEN $week_start AND $week_start + 6)
ORDER BY department = '(all)' DESC, department, status, detected_on, alert_id;
