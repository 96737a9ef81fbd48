-- The weekly digest's sparklines (insight_core/nightly/digest.py): the share of every
-- published cell in the weeks up to $week_start, per department and, as '(all)', for the whole
-- company. A hidden cell has no row: the chart shows a gap there, as it would for no prompts.
SELECT department, category, week_start, share
FROM analytics.weekly_category_trends
WHERE week_start BETWEEN $first_week AND $week_start
  AND NOT coalesce(suppressed, true) AND share IS NOT NULL
UNION ALL
SELECT '(all)' AS department, category, week_start, share
FROM analytics.company_weekly_category_trends
WHERE week_start BETWEEN $first_week AND $week_start
  AND NOT coalesce(suppressed, true) AND share IS NOT NULL
ORDER BY department, category, week_start;
