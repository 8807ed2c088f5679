
WITH small AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM metrics_cells c JOIN stakeholders_area a ON a.id = c.area_id
    WHERE a.level = 'borough'
      AND (least(c.num_a, c.num_p) < 5 OR least(c.den_a, c.den_p) < 5)
),
rows AS (
    SELECT NULL::bigint AS id, c.indicator_id, c.period_start, b.basis, i.measure, a.level, a.parent_id, c.area_id,
           b.num AS numerator, b.den AS denominator, false AS secondary_suppressed, c.breakdown, c.population_group
    FROM small JOIN metrics_cells c USING (indicator_id, period_start)
    JOIN outcomes_indicator i ON i.id = c.indicator_id JOIN stakeholders_area a ON a.id = c.area_id
    CROSS JOIN LATERAL (VALUES ('approved', c.num_a, c.den_a, c.providers_a),
                               ('provisional', c.num_p, c.den_p, c.providers_p)) AS b(basis, num, den, providers)
    WHERE b.providers > 0
)
SELECT * FROM rows
WHERE (indicator_id, period_start, basis) IN (
    SELECT indicator_id, period_start, basis FROM rows
    WHERE level = 'borough'
      AND ((measure <> 'mean' AND coalesce(numerator, 0) < 5)
           OR (measure IN ('proportion', 'mean') AND coalesce(denominator, 0) < 5)))
ORDER BY indicator_id, period_start, basis, breakdown, population_group
