-- No hidden cell can be recovered by subtraction: in every group of cells that adds up to a
-- published total, a visible total never sits beside exactly one hidden member. Checked on the
-- published tables themselves (see models/004_cell_suppression.sql for the groups).
WITH daily AS (
    SELECT date AS period, department, category, suppressed
    FROM analytics.daily_category_trends
    UNION ALL
    SELECT date, '(all)', category, suppressed FROM analytics.company_daily_category_trends
),
weekly AS (
    SELECT week_start AS period, department, category, suppressed
    FROM analytics.weekly_category_trends
    UNION ALL
    SELECT week_start, '(all)', category, suppressed
    FROM analytics.company_weekly_category_trends
),
cells AS (
    SELECT 'day' AS grain, * FROM daily
    UNION ALL
    SELECT 'week', * FROM weekly
),
-- Categories of one department (or the company) and period; the total is published through
-- the shares as soon as one member is visible.
across_categories AS (
    SELECT 'categories of ' || grain AS grp, concat_ws('|', period, department) AS group_key
    FROM cells
    GROUP BY grain, period, department
    HAVING count(*) FILTER (WHERE suppressed) = 1 AND count(*) FILTER (WHERE NOT suppressed) > 0
),
-- Departments of one category and period; the total is the company cell.
across_departments AS (
    SELECT 'departments of ' || c.grain, concat_ws('|', c.period, c.category)
    FROM cells AS c
    JOIN cells AS total
        ON total.grain = c.grain AND total.period = c.period AND total.category = c.category
        AND total.department = '(all)' AND NOT total.suppressed
    WHERE c.department <> '(all)'
    GROUP BY c.grain, c.period, c.category
    HAVING count(*) FILTER (WHERE c.suppressed) = 1
),
-- Days of one ISO week for one department (or the company) and category; the total is the
-- weekly cell.
across_days AS (
    SELECT 'days of week', concat_ws('|', w.period, d.department, d.category)
    FROM daily AS d
    JOIN weekly AS w
        ON w.period = date_trunc('week', d.period)::DATE
        AND w.department = d.department AND w.category = d.category AND NOT w.suppressed
    GROUP BY w.period, d.department, d.category
    HAVING count(*) FILTER (WHERE d.suppressed) = 1
),
-- Topics of one model version and period; the total is published by the category tables.
across_topics AS (
    SELECT 'topics of ' || grain, concat_ws('|', period, model_version)
    FROM analytics.topic_trends
    GROUP BY grain, period, model_version
    HAVING count(*) FILTER (WHERE suppressed) = 1 AND count(*) FILTER (WHERE NOT suppressed) > 0
),
across_topic_days AS (
    SELECT 'days of topic week', concat_ws('|', w.period, d.model_version, d.topic_id)
    FROM analytics.topic_trends AS d
    JOIN analytics.topic_trends AS w
        ON w.grain = 'week' AND w.period = date_trunc('week', d.period)::DATE
        AND w.model_version = d.model_version AND w.topic_id = d.topic_id AND NOT w.suppressed
    WHERE d.grain = 'day'
    GROUP BY w.period, d.model_version, d.topic_id
    HAVING count(*) FILTER (WHERE d.suppressed) = 1
),
-- Topic sizes of one model version add up to its training documents.
across_catalogue AS (
    SELECT 'topic catalogue', model_version
    FROM analytics.topics
    GROUP BY model_version
    HAVING count(*) FILTER (WHERE suppressed) = 1 AND count(*) FILTER (WHERE NOT suppressed) > 0
)
SELECT * FROM across_categories
UNION ALL SELECT * FROM across_departments
UNION ALL SELECT * FROM across_days
UNION ALL SELECT * FROM across_topics
UNION ALL SELECT * FROM across_topic_days
UNION ALL SELECT * FROM across_catalogue;
