-- Classifications only use categories of the taxonomy.
SELECT DISTINCT c.category
FROM core.category_cell_counts AS c
LEFT JOIN ops.categories AS t USING (category)
WHERE t.category IS NULL;
