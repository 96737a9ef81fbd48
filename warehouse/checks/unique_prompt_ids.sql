-- Every prompt is loaded once: a rerun replaces its date, a duplicate id is skipped.
SELECT prompt_id, count(*) AS copies
FROM core.classifications
GROUP BY prompt_id
HAVING count(*) > 1;
