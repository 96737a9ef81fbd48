-- The default privacy threshold exists exactly once and no threshold is below 2 (a group of
-- one is a person).
SELECT 'missing default' AS problem, NULL AS category, NULL AS min_users
WHERE (SELECT count(*) FROM ops.privacy_thresholds WHERE category = '*') <> 1
UNION ALL
SELECT 'threshold below 2', category, min_users
FROM ops.privacy_thresholds
WHERE min_users < 2;
