
SELECT m.indicator_id, m.area_id, m.period_start, m.breakdown, m.basis = 'approved', m.also_provisional,
       m.population_group, m.value::float8, m.lower95::float8, m.upper95::float8,
       coalesce(m.population, m.denominator)::float8, NOT (m.suppressed OR m.secondary_suppressed), i.polarity,
       i.age_bands
FROM outcomes_metric m
JOIN outcomes_indicator i ON i.id = m.indicator_id
WHERE m.population_group <> '' AND (m.indicator_id, m.period_start) IN (SELECT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]))
ORDER BY m.indicator_id, m.area_id, m.period_start, m.breakdown
