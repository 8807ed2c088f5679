CREATE TEMPORARY TABLE metrics_pop ON COMMIT DROP AS WITH -- Each area's population in the year nearest each period's (once per area and year).
years AS (
    SELECT DISTINCT s.area_id, date_part('year', s.period_start)::int AS year, s.breakdown, s.population_group
    FROM metrics_cells s
),
pop AS (
    SELECT y.area_id, y.year, y.breakdown, y.population_group, p.population FROM years y
    CROSS JOIN LATERAL (
        SELECT pp.population FROM outcomes_population pp
        WHERE pp.area_id = y.area_id AND pp.breakdown = y.breakdown AND pp.population_group = y.population_group
        ORDER BY abs(pp.year - y.year), pp.year DESC LIMIT 1
    ) p
)
SELECT * FROM pop