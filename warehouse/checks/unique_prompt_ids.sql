-- Every prompt is loaded once: a rerun replaces its date, a duplicate id is skipped. Each
-- publication checks the ids of the dates it replaced (ops.build_scope) among themselves and
-- against every other date's file the run's own lookup did not read (ops.id_lookup_partitions;
-- without a lookup, every other date's). Other dates' files are immutable and were checked
-- when they were published. Ids are matched by their 64-bit hash first and compared as text
-- only where hashes match, so a night of a million ids is not held as text.
WITH replaced AS (
    SELECT prompt_id
    FROM core.classifications
    WHERE run_date IN (SELECT run_date FROM ops.build_scope)
),
unread_dates AS (
    SELECT run_date
    FROM ops.partitions
    WHERE dataset = 'classifications'
      AND run_date NOT IN (SELECT run_date FROM ops.build_scope)
      AND path NOT IN (SELECT path FROM ops.id_lookup_partitions)
),
candidates AS (
    SELECT prompt_id
    FROM replaced
    WHERE hash(prompt_id) IN (
        SELECT hash(prompt_id) FROM replaced GROUP BY 1 HAVING count(*) > 1
    )
    UNION
    SELECT prompt_id
    FROM core.classifications
    WHERE run_date IN (SELECT run_date FROM unread_dates)
      -- no hash table of the night's ids when no date is left to compare them with
      AND hash(prompt_id) IN (
          SELECT hash(prompt_id) FROM replaced WHERE EXISTS (SELECT 1 FROM unread_dates)
      )
)
SELECT prompt_id, count(*) AS copies
FROM core.classifications
WHERE run_date IN (
        SELECT run_date FROM ops.build_scope UNION ALL SELECT run_date FROM unread_dates
    )
  AND prompt_id IN (SELECT prompt_id FROM candidates)
GROUP BY prompt_id
HAVING count(*) > 1;
