
SELECT m.id, m.indicator_id, m.period_start, m.basis, i.measure, a.level, a.parent_id, m.area_id,
       m.numerator, m.denominator, m.secondary_suppressed, m.breakdown, m.population_group
FROM (SELECT DISTINCT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[])) c(indicator_id, period_start)
CROSS JOIN LATERAL (
    SELECT * FROM outcomes_metric m WHERE m.indicator_id = c.indicator_id AND m.period_start = c.period_start
) m
JOIN outcomes_indicator i ON i.id = m.indicator_id
JOIN stakeholders_area a ON a.id = m.area_id
ORDER BY m.indicator_id, m.period_start, m.basis, m.breakdown, m.population_group
