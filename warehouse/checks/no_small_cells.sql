-- No visible analyst cell counts fewer distinct users than its privacy threshold.
SELECT t.date, t.department, t.category, t.users
FROM analytics.daily_category_trends AS t
LEFT JOIN ops.privacy_thresholds AS specific ON specific.category = t.category
WHERE NOT t.suppressed
  AND t.users < greatest(
        coalesce(specific.min_users, 0),
        (SELECT min_users FROM ops.privacy_thresholds WHERE category = '*'));
