-- What an analyst reads in the analyst-facing trend tables (insight_core/disclosure_audit.py):
-- every row from the given first period on, as (kind, grain, period, group, member) with its
-- prompts and share. group is the department ('(all)': company-wide) or the model version;
-- member the category or the topic id. hidden_row: a row that marks a hidden cell (suppressed,
-- or without a count), which already tells that the cell exists.
SELECT 'category' AS kind, 'day' AS grain, date AS period, department AS grp,
       category AS member, prompts, share, coalesce(suppressed, TRUE) OR prompts IS NULL AS hidden_row
FROM analytics.daily_category_trends WHERE date >= $since
UNION ALL
SELECT 'category', 'day', date, '(all)', category, prompts, share,
       coalesce(suppressed, TRUE) OR prompts IS NULL
FROM analytics.company_daily_category_trends WHERE date >= $since
UNION ALL
SELECT 'category', 'week', week_start, department, category, prompts, share,
       coalesce(suppressed, TRUE) OR prompts IS NULL
FROM analytics.weekly_category_trends WHERE week_start >= $since
UNION ALL
SELECT 'category', 'week', week_start, '(all)', category, prompts, share,
       coalesce(suppressed, TRUE) OR prompts IS NULL
FROM analytics.company_weekly_category_trends WHERE week_start >= $since
UNION ALL
SELECT 'topic', grain, period, model_version, topic_id::VARCHAR, prompts, share,
       coalesce(suppressed, TRUE) OR prompts IS NULL
FROM analytics.topic_trends WHERE period >= $since
ORDER BY ALL;
