-- Analyst-facing tables carry no prompt text and no user identifiers.
SELECT table_name, column_name
FROM information_schema.columns
WHERE table_schema = 'analytics'
  AND (column_name ILIKE '%text%' OR column_name ILIKE '%prompt_id%'
       OR column_name ILIKE '%user_hash%' OR column_name ILIKE '%user_id%');
