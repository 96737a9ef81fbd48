-- Every successful run accounts for every row it read.
SELECT run_id, rows_read, rows_loaded, rows_quarantined, rows_duplicate
FROM ops.runs
WHERE status = 'succeeded'
  AND rows_read <> rows_loaded + rows_quarantined + rows_duplicate;
