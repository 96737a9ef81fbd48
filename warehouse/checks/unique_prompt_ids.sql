-- Every prompt is loaded once: a rerun replaces its date, a duplicate id is skipped. Each
-- publication checks the dates it replaced (ops.build_scope) against every loaded date; the
-- other dates' files are immutable and were checked when they were published.
WITH replaced AS (
    SELECT prompt_id
    FROM core.classifications
    WHERE run_date IN (SELECT run_date FROM ops.build_scope)
)
SELECT prompt_id, count(*) AS copies
FROM core.classifications
WHERE prompt_id IN (SELECT prompt_id FROM replaced)
GROUP BY prompt_id
HAVING count(*) > 1;
