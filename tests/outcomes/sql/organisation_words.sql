
WITH RECURSIVE o(id) AS (
    SELECT min(organisation_id) FROM outcomes_outcomevalue
    UNION ALL
    SELECT (SELECT min(v.organisation_id) FROM outcomes_outcomevalue v WHERE v.organisation_id > o.id)
    FROM o WHERE o.id IS NOT NULL
)
SELECT DISTINCT id >> 6 FROM o WHERE id IS NOT NULL ORDER BY 1
