-- The truth the disclosure audit (insight_core/disclosure_audit.py) measures what an analyst
-- can derive against: every non-empty day cell of a department and category, and of a topic
-- (the finest cells: every published number is a sum of them), with its distinct users and
-- threshold, from the given first period on.
SELECT 'category' AS kind, period, week_start, department AS grp, category AS member,
       prompts, users, min_users
FROM core.category_cells
WHERE grain = 'day' AND department <> '(all)' AND prompts > 0 AND week_start >= $since
UNION ALL
SELECT 'topic', period, week_start, model_version, topic_id::VARCHAR, prompts, users, min_users
FROM core.topic_cells
WHERE grain = 'day' AND prompts > 0 AND week_start >= $since
ORDER BY ALL;
