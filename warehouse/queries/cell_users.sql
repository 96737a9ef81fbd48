-- The distinct users of each cell listed in the temp table user_set_cells (cell_id, kind,
-- grain, period, week_start, department, category, model_version, topic_id). Both the
-- complementary suppression fixpoint (insight_core/suppression.py) and the disclosure audit
-- (insight_core/disclosure_audit.py) need the union of some cells' users; they list only the
-- cells with fewer users than the strictest threshold (a larger cell reaches any threshold on
-- its own). Read from core.classifications (not build_rows): after a change of thresholds
-- every week is decided again, not only the weeks this build replaced.
WITH small AS (
    SELECT * FROM user_set_cells
),
rows AS (
    SELECT DISTINCT
        run_date,
        date_trunc('week', run_date)::DATE AS week_start,
        department,
        category,
        model_version,
        topic_id,
        user_hash
    FROM core.classifications
    WHERE run_date >= (SELECT min(week_start) FROM small)
      AND date_trunc('week', run_date)::DATE IN (SELECT DISTINCT week_start FROM small)
),
-- One equality join per kind of cell, so each is a hash join on the (small) list of cells.
members AS (
    SELECT s.cell_id, r.user_hash
    FROM small AS s
    JOIN rows AS r
        ON r.run_date = s.period AND r.department = s.department AND r.category = s.category
    WHERE s.kind = 'category' AND s.grain = 'day' AND s.department <> '(all)'
    UNION ALL
    SELECT s.cell_id, r.user_hash
    FROM small AS s
    JOIN rows AS r ON r.run_date = s.period AND r.category = s.category
    WHERE s.kind = 'category' AND s.grain = 'day' AND s.department = '(all)'
    UNION ALL
    SELECT s.cell_id, r.user_hash
    FROM small AS s
    JOIN rows AS r
        ON r.week_start = s.period AND r.department = s.department AND r.category = s.category
    WHERE s.kind = 'category' AND s.grain = 'week' AND s.department <> '(all)'
    UNION ALL
    SELECT s.cell_id, r.user_hash
    FROM small AS s
    JOIN rows AS r ON r.week_start = s.period AND r.category = s.category
    WHERE s.kind = 'category' AND s.grain = 'week' AND s.department = '(all)'
    UNION ALL
    SELECT s.cell_id, r.user_hash
    FROM small AS s
    JOIN rows AS r
        ON r.run_date = s.period AND r.model_version = s.model_version
        AND r.topic_id = s.topic_id
    WHERE s.kind = 'topic' AND s.grain = 'day'
    UNION ALL
    SELECT s.cell_id, r.user_hash
    FROM small AS s
    JOIN rows AS r
        ON r.week_start = s.period AND r.model_version = s.model_version
        AND r.topic_id = s.topic_id
    WHERE s.kind = 'topic' AND s.grain = 'week'
)
SELECT cell_id, list(DISTINCT user_hash ORDER BY user_hash) AS users
FROM members
GROUP BY cell_id
ORDER BY cell_id;
