-- Visible shares of a department's day never exceed 1, and equal 1 when nothing is suppressed.
SELECT date, department, sum(share) AS visible_share, bool_or(suppressed) AS any_suppressed
FROM analytics.daily_category_trends
GROUP BY date, department
HAVING sum(coalesce(share, 0)) > 1.000001
    OR (NOT bool_or(suppressed) AND abs(sum(share) - 1) > 0.000001);
