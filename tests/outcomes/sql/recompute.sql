
WITH cells AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
),
v AS (
    SELECT v.indicator_id, v.period_start, v.breakdown, v.population_group, v.borough_id,
           b.parent_id AS sub_region_id, v.organisation_id, v.numerator, v.denominator,
           v.status = 'approved' AS approved
    FROM cells c
    CROSS JOIN LATERAL (
        SELECT * FROM outcomes_outcomevalue v
        WHERE v.indicator_id = c.indicator_id AND v.period_start = c.period_start
          AND v.status IN ('approved', 'submitted')
        OFFSET 0  -- a fence: one index scan a cell
    ) v
    JOIN stakeholders_area b ON b.id = v.borough_id
),
-- Both bases in one hashed pass over the values: each borough's sums (approved only, and
-- approved with submitted), and which providers serve each sub-region. The natural key makes
-- a borough's row count its number of providers; sub-regions and London add up the boroughs'
-- sums and count their distinct providers from the much smaller provider rows.
one AS (
    SELECT indicator_id, period_start, breakdown, population_group, sub_region_id, borough_id, organisation_id,
           GROUPING(borough_id) AS by_org,
           sum(numerator) FILTER (WHERE approved) AS num_a, sum(denominator) FILTER (WHERE approved) AS den_a,
           count(*) FILTER (WHERE approved) AS n_a,
           sum(numerator) AS num_p, sum(denominator) AS den_p, count(*) AS n_p
    FROM v
    GROUP BY GROUPING SETS ((indicator_id, period_start, breakdown, population_group, sub_region_id, borough_id),
                            (indicator_id, period_start, breakdown, population_group, sub_region_id, organisation_id))
),

sub_providers AS (
    SELECT indicator_id, period_start, breakdown, population_group, sub_region_id,
           count(*) FILTER (WHERE n_a > 0) AS providers_a, count(*) AS providers_p
    FROM one WHERE by_org = 1 GROUP BY indicator_id, period_start, breakdown, population_group, sub_region_id
),
london_providers AS (
    -- distinct providers by hashing (a count(DISTINCT) would sort every provider row)
    SELECT indicator_id, period_start, breakdown, population_group, count(*) FILTER (WHERE approved) AS providers_a,
           count(*) AS providers_p
    FROM (SELECT indicator_id, period_start, breakdown, population_group, organisation_id,
                 bool_or(n_a > 0) AS approved
          FROM one WHERE by_org = 1 GROUP BY indicator_id, period_start, breakdown, population_group, organisation_id) o
    GROUP BY indicator_id, period_start, breakdown, population_group
),
g AS (
    SELECT indicator_id, period_start, breakdown, population_group, borough_id AS area_id, num_a, den_a,
           n_a AS providers_a, n_a, num_p, den_p, n_p AS providers_p
    FROM one WHERE by_org = 0
    UNION ALL
    SELECT b.indicator_id, b.period_start, b.breakdown, b.population_group, b.sub_region_id, sum(b.num_a),
           sum(b.den_a), min(p.providers_a), sum(b.n_a), sum(b.num_p), sum(b.den_p), min(p.providers_p)
    FROM one b JOIN sub_providers p USING (indicator_id, period_start, breakdown, population_group, sub_region_id)
    WHERE b.by_org = 0 GROUP BY b.indicator_id, b.period_start, b.breakdown, b.population_group, b.sub_region_id
    UNION ALL
    SELECT b.indicator_id, b.period_start, b.breakdown, b.population_group, %(london_id)s, sum(b.num_a),
           sum(b.den_a), min(p.providers_a), sum(b.n_a), sum(b.num_p), sum(b.den_p), min(p.providers_p)
    FROM one b JOIN london_providers p USING (indicator_id, period_start, breakdown, population_group)
    WHERE b.by_org = 0 GROUP BY b.indicator_id, b.period_start, b.breakdown, b.population_group
),
s AS (
    SELECT g.indicator_id, g.period_start, g.area_id, b.basis, g.breakdown, g.population_group, b.num, b.den,
           b.providers,
           (CASE WHEN b.num < 5 THEN b.num ELSE 5 * floor(b.num / 5.0 + 0.5) END)::float8 AS numf, (CASE WHEN b.den < 5 THEN b.den ELSE 5 * floor(b.den / 5.0 + 0.5) END)::float8 AS denf  -- once a row: a numeric's cast to float8 goes through text
    FROM g CROSS JOIN LATERAL (VALUES ('approved', g.num_a, g.den_a, g.providers_a, g.n_a),
                                     ('provisional', g.num_p, g.den_p, g.providers_p, 1))
                              AS b(basis, num, den, providers, n)
    WHERE b.n > 0
),
-- Each area's population in the year nearest each period's (once per area and year).
years AS (
    SELECT DISTINCT s.area_id, date_part('year', s.period_start)::int AS year, s.breakdown, s.population_group
    FROM s
),
pop AS (
    SELECT y.area_id, y.year, y.breakdown, y.population_group, p.population FROM years y
    CROSS JOIN LATERAL (
        SELECT pp.population FROM outcomes_population pp
        WHERE pp.area_id = y.area_id AND pp.breakdown = y.breakdown AND pp.population_group = y.population_group
        ORDER BY abs(pp.year - y.year), pp.year DESC LIMIT 1
    ) p
),
computed AS (
    SELECT s.indicator_id, s.area_id, s.period_start, s.basis, s.breakdown, s.population_group, s.num, s.den,
           s.providers, p.population,
        CASE i.measure
            WHEN 'proportion' THEN CASE WHEN s.den > 0 THEN 100 * (CASE WHEN s.num < 5 THEN s.num ELSE 5 * floor(s.num / 5.0 + 0.5) END) / (CASE WHEN s.den < 5 THEN s.den ELSE 5 * floor(s.den / 5.0 + 0.5) END) END
            WHEN 'mean' THEN CASE WHEN s.den > 0 THEN s.num / s.den END
            WHEN 'count' THEN s.num
            WHEN 'rate' THEN CASE WHEN p.population > 0 THEN (CASE WHEN s.num < 5 THEN s.num ELSE 5 * floor(s.num / 5.0 + 0.5) END) / p.population * 100000 END
        END AS value,
        CASE i.measure WHEN 'proportion' THEN CASE WHEN s.denf > 0 AND s.numf <= s.denf THEN (100 * (2 * s.numf + 1.959963984540054^2 - 1.959963984540054 * sqrt(1.959963984540054^2 + 4 * s.numf * (1 - s.numf / s.denf))) / (2 * (s.denf + 1.959963984540054^2))) END WHEN 'count' THEN (CASE WHEN s.numf < 10 THEN e.l95 ELSE (s.numf * power(1 - 1 / (9 * s.numf) - 1.959963984540054 / (3 * sqrt(s.numf)), 3)) END) WHEN 'rate' THEN CASE WHEN p.population > 0 THEN (CASE WHEN s.numf < 10 THEN e.l95 ELSE (s.numf * power(1 - 1 / (9 * s.numf) - 1.959963984540054 / (3 * sqrt(s.numf)), 3)) END) / p.population * 100000 END END AS lower95,
        CASE i.measure WHEN 'proportion' THEN CASE WHEN s.denf > 0 AND s.numf <= s.denf THEN (100 * (2 * s.numf + 1.959963984540054^2 + 1.959963984540054 * sqrt(1.959963984540054^2 + 4 * s.numf * (1 - s.numf / s.denf))) / (2 * (s.denf + 1.959963984540054^2))) END WHEN 'count' THEN (CASE WHEN s.numf < 10 THEN e.u95 ELSE ((s.numf + 1) * power(1 - 1 / (9 * (s.numf + 1)) + 1.959963984540054 / (3 * sqrt(s.numf + 1)), 3)) END) WHEN 'rate' THEN CASE WHEN p.population > 0 THEN (CASE WHEN s.numf < 10 THEN e.u95 ELSE ((s.numf + 1) * power(1 - 1 / (9 * (s.numf + 1)) + 1.959963984540054 / (3 * sqrt(s.numf + 1)), 3)) END) / p.population * 100000 END END AS upper95,
        CASE i.measure WHEN 'proportion' THEN CASE WHEN s.denf > 0 AND s.numf <= s.denf THEN (100 * (2 * s.numf + 3.090232306167813^2 - 3.090232306167813 * sqrt(3.090232306167813^2 + 4 * s.numf * (1 - s.numf / s.denf))) / (2 * (s.denf + 3.090232306167813^2))) END WHEN 'count' THEN (CASE WHEN s.numf < 10 THEN e.l998 ELSE (s.numf * power(1 - 1 / (9 * s.numf) - 3.090232306167813 / (3 * sqrt(s.numf)), 3)) END) WHEN 'rate' THEN CASE WHEN p.population > 0 THEN (CASE WHEN s.numf < 10 THEN e.l998 ELSE (s.numf * power(1 - 1 / (9 * s.numf) - 3.090232306167813 / (3 * sqrt(s.numf)), 3)) END) / p.population * 100000 END END AS lower998,
        CASE i.measure WHEN 'proportion' THEN CASE WHEN s.denf > 0 AND s.numf <= s.denf THEN (100 * (2 * s.numf + 3.090232306167813^2 + 3.090232306167813 * sqrt(3.090232306167813^2 + 4 * s.numf * (1 - s.numf / s.denf))) / (2 * (s.denf + 3.090232306167813^2))) END WHEN 'count' THEN (CASE WHEN s.numf < 10 THEN e.u998 ELSE ((s.numf + 1) * power(1 - 1 / (9 * (s.numf + 1)) + 3.090232306167813 / (3 * sqrt(s.numf + 1)), 3)) END) WHEN 'rate' THEN CASE WHEN p.population > 0 THEN (CASE WHEN s.numf < 10 THEN e.u998 ELSE ((s.numf + 1) * power(1 - 1 / (9 * (s.numf + 1)) + 3.090232306167813 / (3 * sqrt(s.numf + 1)), 3)) END) / p.population * 100000 END END AS upper998,
        -- Disclosure: counts below 5, or a ratio with a part below 5, are suppressed (London's too);
        -- so is a percentage of a published denominator below PERCENT_MIN_DENOMINATOR (its counts are
        -- still shown): computed from rounded counts, it could be far from the exact one.
        (s.num < 5 OR (i.measure IN ('proportion', 'mean') AND s.den < 5)
         OR (i.measure = 'proportion' AND (CASE WHEN s.den < 5 THEN s.den ELSE 5 * floor(s.den / 5.0 + 0.5) END) < 50)) AS suppressed,
        i.measure, i.polarity, i.period_type, a.level, a.parent_id
    FROM s
    JOIN outcomes_indicator i ON i.id = s.indicator_id
    JOIN stakeholders_area a ON a.id = s.area_id
    LEFT JOIN pop p ON p.area_id = s.area_id AND p.year = date_part('year', s.period_start)::int
         AND p.breakdown = s.breakdown AND p.population_group = s.population_group
    LEFT JOIN (VALUES (0::float8, 0.0, 3.688879454113936, 0.0, 6.907755278982137), (1::float8, 0.025317807984289842, 5.571643390938899, 0.001000500333583479, 9.233413476451585), (2::float8, 0.24220927854396473, 7.224687667723961, 0.04540201776948771, 11.228872242412663), (3::float8, 0.6186721228956014, 8.767273069742327, 0.19053337756839683, 13.06224077918807), (4::float8, 1.0898653736263255, 10.241588675403698, 0.4285524136284182, 14.79414922253721), (5::float8, 1.6234863901184209, 11.66833207932267, 0.7393717319178172, 16.454745203680105), (6::float8, 2.20189425349085, 13.059474022518685, 1.1071046602555867, 18.06163684019907), (7::float8, 2.814363051519866, 14.422675361702378, 1.5203362603988069, 19.62617739538424), (8::float8, 3.4538321767484996, 15.763189220193315, 1.9708139217403748, 21.15619816583998), (9::float8, 4.115373097378328, 17.08480345141917, 2.452424404363695, 22.657373309062933)) AS e(x, l95, u95, l998, u998) ON e.x = s.numf  -- hashing a float8, not a numeric; equal only for whole 0..9
    OFFSET 0  -- a fence: each limit is computed once, then rounded (_round6 names it three times)
)
,
-- Metrics of the cells whose areas have no values left (rejected, or no longer approved).
deleted AS (
    DELETE FROM outcomes_metric m USING cells c
    WHERE m.indicator_id = c.indicator_id AND m.period_start = c.period_start
      AND NOT EXISTS (SELECT 1 FROM s WHERE s.indicator_id = m.indicator_id AND s.period_start = m.period_start
                      AND s.area_id = m.area_id AND s.basis = m.basis AND s.breakdown = m.breakdown
                      AND s.population_group = m.population_group)
    RETURNING 1
),
written AS (
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, breakdown, population_group, numerator,
    denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed,
    comparison, quintile, trend, computed_at)
SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, num, den, population, providers,
       round(value::numeric, 6) AS value, CASE WHEN abs(lower95) < 1e12 THEN round(lower95 * 1e6)::bigint * 0.000001 ELSE round(lower95::numeric, 6) END AS lower95, CASE WHEN abs(upper95) < 1e12 THEN round(upper95 * 1e6)::bigint * 0.000001 ELSE round(upper95::numeric, 6) END AS upper95, CASE WHEN abs(lower998) < 1e12 THEN round(lower998 * 1e6)::bigint * 0.000001 ELSE round(lower998::numeric, 6) END AS lower998, CASE WHEN abs(upper998) < 1e12 THEN round(upper998 * 1e6)::bigint * 0.000001 ELSE round(upper998::numeric, 6) END AS upper998,
       suppressed, false, 'not_compared', NULL, '', now()
FROM computed
ON CONFLICT (indicator_id, period_start, area_id, basis, breakdown, population_group) DO UPDATE SET
    numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator, population = EXCLUDED.population,
    providers = EXCLUDED.providers, value = EXCLUDED.value, lower95 = EXCLUDED.lower95,
    upper95 = EXCLUDED.upper95, lower998 = EXCLUDED.lower998, upper998 = EXCLUDED.upper998,
    suppressed = EXCLUDED.suppressed, computed_at = EXCLUDED.computed_at
WHERE (outcomes_metric.numerator, outcomes_metric.denominator, outcomes_metric.population,
       outcomes_metric.providers, outcomes_metric.value, outcomes_metric.lower95, outcomes_metric.upper95,
       outcomes_metric.lower998, outcomes_metric.upper998, outcomes_metric.suppressed)
   IS DISTINCT FROM (EXCLUDED.numerator, EXCLUDED.denominator, EXCLUDED.population, EXCLUDED.providers,
       EXCLUDED.value, EXCLUDED.lower95, EXCLUDED.upper95, EXCLUDED.lower998, EXCLUDED.upper998,
       EXCLUDED.suppressed)
RETURNING 1
)
SELECT (SELECT count(*) FROM deleted) + (SELECT count(*) FROM written)
