-- Every analyst-facing table has one row per key.
-- A template: insight_core/warehouse/declarations.py replaces the marker below with the
-- keys that have more than one row, of every published relation of warehouse/analytics.toml.
{{keyed_rows}};
