
WITH touched AS (
    SELECT c.indicator_id, min(c.period_start) AS since, max(c.period_start) AS until
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
    GROUP BY c.indicator_id
),
span AS (
    SELECT t.indicator_id, t.since AS lo, t.until + CASE i.period_type WHEN 'month' THEN interval '4 months' WHEN 'quarter' THEN interval '12 months' ELSE interval '4 years' END AS hi
    FROM touched t JOIN outcomes_indicator i ON i.id = t.indicator_id
),
same AS (
    SELECT a.id AS approved_id, p.id AS provisional_id
    FROM span
    JOIN outcomes_metric a
      ON a.indicator_id = span.indicator_id AND a.period_start BETWEEN span.lo AND span.hi AND a.basis = 'approved'
    JOIN outcomes_metric p
      ON p.indicator_id = a.indicator_id AND p.period_start = a.period_start AND p.area_id = a.area_id
     AND p.breakdown = a.breakdown AND p.population_group = a.population_group AND p.basis = 'provisional'
    WHERE (a.numerator, a.denominator, a.population, a.providers, a.value, a.lower95, a.upper95, a.lower998, a.upper998, a.suppressed, a.secondary_suppressed, a.comparison, a.quintile, a.trend) IS NOT DISTINCT FROM (p.numerator, p.denominator, p.population, p.providers, p.value, p.lower95, p.upper95, p.lower998, p.upper998, p.suppressed, p.secondary_suppressed, p.comparison, p.quintile, p.trend)
),
folded AS (
    DELETE FROM outcomes_metric m USING same WHERE m.id = same.provisional_id RETURNING 1
)
UPDATE outcomes_metric m SET also_provisional = true FROM same WHERE m.id = same.approved_id
