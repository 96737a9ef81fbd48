-- The weekly digest's movers (insight_core/nightly/digest.py): per department, and for the
-- whole company as '(all)', the categories whose share of the week $week_start moved most
-- against their usual share (baseline_share, the trailing complete weeks), or against the week
-- before where there is no visible baseline. Only published cells of the analytics tables:
-- a hidden cell has no row (and an older publication's row marked suppressed is skipped).
WITH cells AS (
    SELECT department, category, iso_week, complete, prompts, users, share, baseline_share,
           share_change, spike_score, is_spike, suppressed
    FROM analytics.weekly_category_trends
    WHERE week_start = $week_start
    UNION ALL BY NAME
    SELECT '(all)' AS department, category, iso_week, complete, prompts, users, share,
           baseline_share, share_change, spike_score, is_spike, suppressed
    FROM analytics.company_weekly_category_trends
    WHERE week_start = $week_start
),
moved AS (
    SELECT
        *,
        coalesce(share - baseline_share, share_change) AS moved,
        CASE WHEN baseline_share IS NOT NULL THEN 'usual' ELSE 'last week' END AS against
    FROM cells
    WHERE NOT coalesce(suppressed, true) AND share IS NOT NULL
)
SELECT department, category, iso_week, complete, prompts, users, share, baseline_share,
       share_change, spike_score, coalesce(is_spike, false) AS is_spike, moved, against
FROM moved
WHERE moved IS NOT NULL AND moved <> 0
QUALIFY row_number() OVER (
    PARTITION BY department ORDER BY abs(moved) DESC, category
) <= $per_department
ORDER BY department = '(all)' DESC, department, abs(moved) DESC, category;
