-- Every prompt is loaded once: a rerun replaces its date, a duplicate id is skipped. Each
-- publication checks the dates it replaced (ops.build_scope) against every loaded date; the
-- other dates' files are immutable and were checked when they were published. Ids are matched
-- by their 64-bit hash first, and only ids whose hash occurs twice are compared as text: a
-- 1M-prompt night's ids as text held about 135 MB of DuckDB's memory here.
WITH replaced AS (
    SELECT DISTINCT hash(prompt_id) AS id_key
    FROM core.classifications
    WHERE run_date IN (SELECT run_date FROM ops.build_scope)
),
repeated_keys AS (
    SELECT hash(prompt_id) AS id_key
    FROM core.classifications
    WHERE hash(prompt_id) IN (SELECT id_key FROM replaced)
    GROUP BY 1
    HAVING count(*) > 1
)
SELECT prompt_id, count(*) AS copies
FROM core.classifications
WHERE hash(prompt_id) IN (SELECT id_key FROM repeated_keys)
GROUP BY prompt_id
HAVING count(*) > 1;
