-- No visible cell of any analyst-facing table counts fewer distinct users than its privacy
-- threshold (ops.privacy_thresholds: the category's own or the default '*', whichever is
-- stricter; no default at all means nothing may be visible). A visible cell without a user
-- count fails too.
-- A template: insight_core/warehouse/declarations.py replaces the marker below with the
-- visible rows of every relation warehouse/analytics.toml declares suppression = "cells".
WITH default_threshold AS (
    SELECT coalesce(max(min_users), 2147483647) AS min_users
    FROM ops.privacy_thresholds
    WHERE category = '*'
),
visible AS (
{{visible_cells}}
)
SELECT v.table_name, v.cell, v.users,
       greatest(coalesce(specific.min_users, 0), d.min_users) AS min_users
FROM visible AS v
CROSS JOIN default_threshold AS d
LEFT JOIN ops.privacy_thresholds AS specific
    ON specific.category = v.category AND specific.category <> '*'
WHERE v.users IS NULL
   OR v.users < greatest(coalesce(specific.min_users, 0), d.min_users);
