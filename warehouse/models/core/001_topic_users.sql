-- takes: replaced_rows, touched_rows
-- core.topic_users: on how many loaded dates each user asked about each topic, so
-- analytics.topics counts a topic's distinct users without reading the whole history. It runs
-- first because which topics the catalogue hides (core.topic_visibility,
-- models/core/002_category_cells.sql) shapes every period's topic cells. A build
-- subtracts the dates its publication replaced (replaced_rows: the retired per-prompt files)
-- and adds them back as they are now (touched_rows: the files now live for those dates).
CREATE OR REPLACE TEMP TABLE topic_user_change AS
SELECT model_version, topic_id, user_hash, sum(change) AS change
FROM (
    SELECT DISTINCT run_date, model_version, topic_id, user_hash, -1 AS change
    FROM replaced_rows
    UNION ALL
    SELECT DISTINCT run_date, model_version, topic_id, user_hash, 1 AS change
    FROM touched_rows
)
GROUP BY ALL
HAVING sum(change) <> 0;

CREATE OR REPLACE TEMP TABLE topic_user_next AS
SELECT c.model_version, c.topic_id, c.user_hash, coalesce(u.days, 0) + c.change AS days
FROM topic_user_change AS c
LEFT JOIN core.topic_users AS u USING (model_version, topic_id, user_hash);

DELETE FROM core.topic_users AS u
USING topic_user_change AS c
WHERE u.model_version = c.model_version
  AND u.topic_id = c.topic_id
  AND u.user_hash = c.user_hash;

INSERT INTO core.topic_users (model_version, topic_id, user_hash, days)
SELECT model_version, topic_id, user_hash, days FROM topic_user_next WHERE days > 0;
