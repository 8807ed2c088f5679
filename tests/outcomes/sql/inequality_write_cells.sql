
WITH 
src AS (
    SELECT s.*,
           s.published AND s.value IS NOT NULL AND s.grp <> 'not-known' AS shown,
           coalesce(CASE s.breakdown WHEN 'age' THEN array_position(s.age_bands, s.grp::varchar) - 1
                                     WHEN 'ethnicity' THEN CASE s.grp WHEN 'asian' THEN 0 WHEN 'black' THEN 1 WHEN 'mixed' THEN 2 WHEN 'white' THEN 3 WHEN 'other' THEN 4 WHEN 'not-known' THEN 5 END WHEN 'sex' THEN CASE s.grp WHEN 'female' THEN 0 WHEN 'male' THEN 1 WHEN 'not-known' THEN 2 END WHEN 'deprivation' THEN CASE s.grp WHEN 'q1' THEN 0 WHEN 'q2' THEN 1 WHEN 'q3' THEN 2 WHEN 'q4' THEN 3 WHEN 'q5' THEN 4 END END, 1000000) AS ord
    FROM (
SELECT m.indicator_id, m.area_id, m.period_start, m.breakdown, m.population_group AS grp,
       m.value::float8 AS value, m.lower95::float8 AS lower95, m.upper95::float8 AS upper95,
       coalesce(m.population, m.denominator)::float8 AS weight,
       NOT (m.suppressed OR m.secondary_suppressed) AS published,
       i.polarity, i.age_bands, m.basis = 'approved' AS in_a, m.basis = 'provisional' OR m.also_provisional AS in_p,
       m.basis = 'approved' AND m.also_provisional AS shared
FROM outcomes_metric m
JOIN outcomes_indicator i ON i.id = m.indicator_id
WHERE m.population_group <> '' AND (m.indicator_id, m.period_start) IN (SELECT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]))
) s
),
g AS (
    SELECT indicator_id, area_id, period_start, breakdown, min(polarity) AS polarity, bool_and(shared) AS shared,
           count(*) FILTER (WHERE in_a) AS rows_a, count(*) FILTER (WHERE shown AND in_a) AS n_a,
           (array_agg(grp ORDER BY value DESC, ord, grp COLLATE "C") FILTER (WHERE shown AND in_a))[1] AS high_group_a,
           max(value) FILTER (WHERE shown AND in_a) AS high_a,
           (array_agg(grp ORDER BY value, ord, grp COLLATE "C") FILTER (WHERE shown AND in_a))[1] AS low_group_a,
           min(value) FILTER (WHERE shown AND in_a) AS low_a,
           count(*) FILTER (WHERE in_p) AS rows_p, count(*) FILTER (WHERE shown AND in_p) AS n_p,
           (array_agg(grp ORDER BY value DESC, ord, grp COLLATE "C") FILTER (WHERE shown AND in_p))[1] AS high_group_p,
           max(value) FILTER (WHERE shown AND in_p) AS high_p,
           (array_agg(grp ORDER BY value, ord, grp COLLATE "C") FILTER (WHERE shown AND in_p))[1] AS low_group_p,
           min(value) FILTER (WHERE shown AND in_p) AS low_p
    FROM src GROUP BY indicator_id, area_id, period_start, breakdown
),
by_basis AS (
    SELECT g.indicator_id, g.area_id, g.period_start, g.breakdown, g.polarity, b.*
    FROM g CROSS JOIN LATERAL (
        VALUES ('approved', rows_a, n_a, high_group_a, high_a, low_group_a, low_a),
               ('provisional', rows_p, n_p, high_group_p, high_p, low_group_p, low_p)
    ) AS b(basis, rows, n, high_group, high, low_group, low)
    WHERE b.rows > 0 AND (b.basis = 'approved' OR NOT g.shared)
),
-- The slope index: the five quintiles, each with a population and limits, q1 (most deprived) first.
q AS (
    SELECT indicator_id, area_id, period_start, breakdown, basis, grp, value AS y, weight AS w, (upper95 - lower95) / (2 * 1.959963984540054) AS se,
           count(*) OVER k AS n, sum(weight) OVER k AS total,
           sum(weight) OVER (k ORDER BY grp COLLATE "C" ROWS UNBOUNDED PRECEDING) - weight AS before
    FROM (SELECT src.*, b.basis FROM src
          CROSS JOIN LATERAL (SELECT 'approved' WHERE in_a UNION ALL SELECT 'provisional' WHERE in_p) AS b(basis)
          WHERE breakdown = 'deprivation' AND shown AND grp IN ('q1', 'q2', 'q3', 'q4', 'q5') AND weight > 0
            AND lower95 IS NOT NULL AND upper95 IS NOT NULL) AS quintile
    WINDOW k AS (PARTITION BY indicator_id, area_id, period_start, breakdown, basis)
),
-- each quintile at the midpoint of its population share, cumulated from the most deprived
qx AS (
    SELECT q.*, w / total AS p, before / total + w / total / 2 AS x FROM q WHERE n = 5
),
qm AS (
    SELECT qx.*, sum(p * x) OVER k AS x_mean, sum(p * y) OVER k AS y_mean FROM qx WINDOW k AS (PARTITION BY indicator_id, area_id, period_start, breakdown, basis)
),
qs AS (
    SELECT qm.*, p * (x - x_mean) / nullif(sum(p * (x - x_mean) ^ 2) OVER k, 0) AS c FROM qm WINDOW k AS (PARTITION BY indicator_id, area_id, period_start, breakdown, basis)
),
slope AS (
    SELECT indicator_id, area_id, period_start, breakdown, basis, -sum(c * y) AS sii, 1.959963984540054 * sqrt(sum(c * c * se * se)) AS half, min(y_mean) AS y_mean
    FROM qs GROUP BY indicator_id, area_id, period_start, breakdown, basis
),
measured AS (
    SELECT g.*, CASE WHEN g.polarity = 'lower' THEN low ELSE high END AS best_f,
           CASE WHEN g.polarity = 'lower' THEN high ELSE low END AS worst_f,
           s.sii AS sii_f, s.sii - s.half AS sii_lower_f, s.sii + s.half AS sii_upper_f, nullif(s.y_mean, 0) AS y_mean
    FROM by_basis g LEFT JOIN slope s USING (indicator_id, area_id, period_start, breakdown, basis)
),
new AS (
    SELECT indicator_id, area_id, period_start, breakdown, basis, n::int AS groups_compared, n < 2 AS suppressed,
           CASE WHEN n < 2 THEN '' WHEN polarity = 'lower' THEN low_group ELSE high_group END AS best_group,
           CASE WHEN n < 2 THEN '' WHEN polarity = 'lower' THEN high_group ELSE low_group END AS worst_group,
           round((CASE WHEN n >= 2 THEN best_f END)::numeric, 6) AS best_value,
           round((CASE WHEN n >= 2 THEN worst_f END)::numeric, 6) AS worst_value,
           round((CASE WHEN n >= 2 THEN worst_f - best_f END)::numeric, 6) AS gap,
           round((CASE WHEN n >= 2 AND best_f <> 0 THEN worst_f / best_f END)::numeric, 6) AS ratio,
           round(sii_f::numeric, 6) AS sii, round(sii_lower_f::numeric, 6) AS sii_lower95,
           round(sii_upper_f::numeric, 6) AS sii_upper95, round((sii_f / y_mean)::numeric, 6) AS rii,
           round((sii_lower_f / y_mean)::numeric, 6) AS rii_lower95,
           round((sii_upper_f / y_mean)::numeric, 6) AS rii_upper95
    FROM measured
),
diff AS MATERIALIZED (
    SELECT n.*, s.id AS stored_id
    FROM new n FULL JOIN (SELECT * FROM outcomes_inequalitymetric m WHERE (m.indicator_id, m.period_start) IN (SELECT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]))) s
        ON s.indicator_id = n.indicator_id AND s.area_id = n.area_id AND s.period_start = n.period_start AND s.basis = n.basis AND s.breakdown = n.breakdown
    WHERE s.id IS NULL OR n.indicator_id IS NULL
       OR (s.groups_compared, s.suppressed, s.best_group, s.worst_group, s.best_value, s.worst_value, s.gap, s.ratio, s.sii, s.sii_lower95, s.sii_upper95, s.rii, s.rii_lower95, s.rii_upper95) IS DISTINCT FROM (n.groups_compared, n.suppressed, n.best_group, n.worst_group, n.best_value, n.worst_value, n.gap, n.ratio, n.sii, n.sii_lower95, n.sii_upper95, n.rii, n.rii_lower95, n.rii_upper95)
),
inserted AS (
    INSERT INTO outcomes_inequalitymetric (indicator_id, area_id, period_start, basis, breakdown, groups_compared, suppressed, best_group, worst_group, best_value, worst_value, gap, ratio, sii, sii_lower95, sii_upper95, rii, rii_lower95, rii_upper95, computed_at)
    SELECT indicator_id, area_id, period_start, basis, breakdown, groups_compared, suppressed, best_group, worst_group, best_value, worst_value, gap, ratio, sii, sii_lower95, sii_upper95, rii, rii_lower95, rii_upper95, now() FROM diff WHERE stored_id IS NULL
    RETURNING 1
),
updated AS (
    UPDATE outcomes_inequalitymetric m SET groups_compared = d.groups_compared, suppressed = d.suppressed, best_group = d.best_group, worst_group = d.worst_group, best_value = d.best_value, worst_value = d.worst_value, gap = d.gap, ratio = d.ratio, sii = d.sii, sii_lower95 = d.sii_lower95, sii_upper95 = d.sii_upper95, rii = d.rii, rii_lower95 = d.rii_lower95, rii_upper95 = d.rii_upper95, computed_at = now()
    FROM diff d WHERE m.id = d.stored_id AND d.indicator_id IS NOT NULL
    RETURNING 1
),
deleted AS (
    DELETE FROM outcomes_inequalitymetric m USING diff d WHERE m.id = d.stored_id AND d.indicator_id IS NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated) + (SELECT count(*) FROM deleted)
