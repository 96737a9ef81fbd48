-- Prompts loaded for one date (parameter: the date), from the live per-date files' row counts:
-- no Parquet file is read. A run that would leave fewer is refused without --replace.
SELECT coalesce(sum(rows), 0)
FROM ops.partitions
WHERE dataset = 'classifications' AND run_date = ?;
