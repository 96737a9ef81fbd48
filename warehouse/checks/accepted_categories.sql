-- Classifications only use categories of the taxonomy (every loaded row is counted in
-- core.category_cell_counts, so its categories are all the loaded categories).
SELECT DISTINCT c.category
FROM core.category_cell_counts AS c
LEFT JOIN ops.categories AS t USING (category)
WHERE t.category IS NULL;
