
SELECT m.indicator_id, m.area_id, m.period_start, b.basis, m.breakdown, m.population_group, m.value::float8,
       m.lower95::float8, m.upper95::float8, coalesce(m.population, m.denominator)::float8,
       NOT (m.suppressed OR m.secondary_suppressed), i.polarity, i.age_bands
FROM outcomes_metric m
JOIN outcomes_indicator i ON i.id = m.indicator_id
CROSS JOIN LATERAL (VALUES ('approved'), ('provisional')) AS b(basis)
WHERE m.population_group <> '' AND TRUE
  AND (m.basis = b.basis OR (b.basis = 'provisional' AND m.basis = 'approved' AND m.also_provisional))
ORDER BY m.indicator_id, m.area_id, m.period_start, b.basis, m.breakdown
