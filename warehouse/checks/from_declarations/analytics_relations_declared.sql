-- Every table and view of the analytics schema is declared in warehouse/analytics.toml, so the
-- privacy checks generated from the declarations cover everything an analyst can read.
-- A template: insight_core/warehouse/declarations.py replaces the marker below with the
-- declared names.
SELECT table_name, table_type
FROM information_schema.tables
WHERE table_schema = 'analytics'
  AND table_catalog = current_database()
  AND table_name NOT IN ({{declared}});
