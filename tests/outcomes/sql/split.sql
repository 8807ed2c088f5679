
WITH touched AS (
    SELECT c.indicator_id, min(c.period_start) AS since, max(c.period_start) AS until
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
    GROUP BY c.indicator_id
),
span AS (
    SELECT t.indicator_id, t.since AS lo, t.until + CASE i.period_type WHEN 'month' THEN interval '4 months' WHEN 'quarter' THEN interval '12 months' ELSE interval '4 years' END AS hi
    FROM touched t JOIN outcomes_indicator i ON i.id = t.indicator_id
),
split AS (
    UPDATE outcomes_metric m SET also_provisional = false
    FROM span
    WHERE m.indicator_id = span.indicator_id AND m.period_start BETWEEN span.lo AND span.hi AND m.also_provisional
    RETURNING m.*
)
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, breakdown, population_group, numerator, denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile, trend, also_provisional,
    computed_at)
SELECT indicator_id, area_id, period_start, 'provisional', breakdown, population_group, numerator, denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile, trend, also_provisional, computed_at
FROM split
