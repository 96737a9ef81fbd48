-- analytics.daily_category_trends: prompts per day, department and category.
-- A cell with fewer distinct users than the privacy threshold of its category
-- (ops.privacy_thresholds) shows NULL counts and suppressed = true.
CREATE OR REPLACE TABLE analytics.daily_category_trends AS
WITH cells AS (
    SELECT
        run_date                  AS date,
        department,
        category,
        count(*)                  AS prompts,
        count(DISTINCT user_hash) AS users
    FROM core.classifications
    GROUP BY ALL
),
department_days AS (
    SELECT date, department, sum(prompts) AS department_prompts
    FROM cells
    GROUP BY ALL
),
thresholds AS (
    SELECT
        c.category,
        greatest(
            coalesce(specific.min_users, 0),
            (SELECT min_users FROM ops.privacy_thresholds WHERE category = '*')
        ) AS min_users
    FROM (SELECT DISTINCT category FROM cells) AS c
    LEFT JOIN ops.privacy_thresholds AS specific ON specific.category = c.category
),
flagged AS (
    SELECT
        cells.*,
        department_days.department_prompts,
        cells.users < thresholds.min_users AS suppressed
    FROM cells
    JOIN department_days USING (date, department)
    JOIN thresholds USING (category)
)
SELECT
    date,
    department,
    category,
    CASE WHEN suppressed THEN NULL ELSE prompts END                               AS prompts,
    CASE WHEN suppressed THEN NULL ELSE users END                                 AS users,
    CASE WHEN suppressed THEN NULL ELSE prompts::DOUBLE / department_prompts END  AS share,
    suppressed
FROM flagged
ORDER BY date, department, category;
