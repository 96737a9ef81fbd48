-- Alerts the demo month raised, in the order they were detected.
SELECT detected_on, headline
FROM analytics.alerts
WHERE status = 'active'
ORDER BY detected_on, alert_id;
