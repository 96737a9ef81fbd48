-- Every classified prompt's topic exists in the catalogue of its model version (every loaded
-- row is counted in core.topic_cell_counts).
SELECT DISTINCT c.model_version, c.topic_id
FROM core.topic_cell_counts AS c
LEFT JOIN core.topics AS t USING (model_version, topic_id)
WHERE t.topic_id IS NULL;
