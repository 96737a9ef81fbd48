-- No hidden topic can be recovered by subtraction, nor is it marked: a model version's topic
-- sizes add up to its training documents, so the topics it does not list in analytics.topics
-- (read from the published catalogue, not from core.topic_visibility that decided them) are
-- none, or at least two whose people together (distinct users over the union, from
-- core.topic_users) reach the strictest threshold among them. A listed row marked suppressed
-- fails too: hidden topics have no row. (The trend tables are attacked by
-- insight_core/disclosure_audit.py.)
WITH default_threshold AS (
    SELECT coalesce(max(min_users), 2147483647) AS min_users
    FROM ops.privacy_thresholds
    WHERE category = '*'
),
unlisted AS (
    SELECT t.model_version, t.topic_id,
           greatest(coalesce(specific.min_users, 0), d.min_users) AS min_users
    FROM core.topics AS t
    CROSS JOIN default_threshold AS d
    LEFT JOIN ops.privacy_thresholds AS specific
        ON specific.category = t.category AND specific.category <> '*'
    WHERE (t.model_version, t.topic_id) NOT IN (
        SELECT (model_version, topic_id) FROM analytics.topics)
      -- only the versions the catalogue lists at all (it lists the versions a run used)
      AND t.model_version IN (SELECT model_version FROM analytics.topics)
),
people AS (
    SELECT h.model_version, count(DISTINCT u.user_hash) AS people
    FROM unlisted AS h
    JOIN core.topic_users AS u USING (model_version, topic_id)
    GROUP BY ALL
)
SELECT h.model_version, count(*) AS hidden_topics, coalesce(max(p.people), 0) AS people,
       max(h.min_users) AS min_users
FROM unlisted AS h
LEFT JOIN people AS p USING (model_version)
GROUP BY h.model_version
HAVING count(*) = 1 OR coalesce(max(p.people), 0) < max(h.min_users)
UNION ALL
SELECT model_version, 1, NULL, NULL
FROM analytics.topics
WHERE suppressed IS DISTINCT FROM FALSE;
