-- Totals over the latest successful run of every date.
WITH latest AS (
    SELECT * FROM ops.runs
    WHERE status = 'succeeded'
    QUALIFY row_number() OVER (PARTITION BY run_date ORDER BY finished_at DESC) = 1
)
SELECT
    count(*)                        AS run_dates,
    min(run_date)                   AS first_date,
    max(run_date)                   AS last_date,
    sum(rows_read)                  AS rows_read,
    sum(rows_loaded)                AS rows_loaded,
    sum(rows_quarantined)           AS rows_quarantined,
    sum(rows_duplicate)             AS rows_duplicate,
    sum(rows_pii_redacted)          AS prompts_with_pii_redacted,
    round(avg(prompts_per_second))  AS avg_prompts_per_second
FROM latest;
