-- Company-wide category shares over the whole period.
SELECT
    category,
    count(*)                                          AS prompts,
    round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct,
    round(100.0 * avg((decided_by = 'rule')::INT), 1)  AS pct_by_rule
FROM core.classifications
GROUP BY category
ORDER BY prompts DESC;
