
WITH ind AS (
    -- each indicator's first period (the trend's origin) and first where the bases differ
    SELECT indicator_id, min(period_start) AS origin, min(period_start) FILTER (WHERE NOT same) AS since
    FROM metrics_cells GROUP BY indicator_id
),
since AS (
    SELECT indicator_id, since FROM ind WHERE since IS NOT NULL
),
s AS (
    SELECT indicator_id, period_start, area_id, 'approved' AS basis, breakdown, population_group, num_a AS num,
           den_a AS den,
           providers_a AS providers, hidden_a AS hidden, (CASE WHEN num_a < 5 THEN num_a ELSE 5 * floor(num_a / 5.0 + 0.5) END)::float8 AS numf,
           (CASE WHEN den_a < 5 THEN den_a ELSE 5 * floor(den_a / 5.0 + 0.5) END)::float8 AS denf, 2 * rid AS rid
    FROM metrics_cells WHERE providers_a > 0
    UNION ALL
    SELECT c.indicator_id, c.period_start, c.area_id, 'provisional', c.breakdown, c.population_group, c.num_p,
           c.den_p, c.providers_p, c.hidden_p,
           (CASE WHEN c.num_p < 5 THEN c.num_p ELSE 5 * floor(c.num_p / 5.0 + 0.5) END)::float8, (CASE WHEN c.den_p < 5 THEN c.den_p ELSE 5 * floor(c.den_p / 5.0 + 0.5) END)::float8, 2 * c.rid + 1
    FROM metrics_cells c JOIN since USING (indicator_id) JOIN outcomes_indicator i ON i.id = c.indicator_id
    WHERE c.providers_p > 0 AND c.period_start >= since.since - CASE i.period_type WHEN 'month' THEN interval '4 months' WHEN 'quarter' THEN interval '12 months' ELSE interval '4 years' END
),
computed AS (
    SELECT s.indicator_id, s.area_id, s.period_start, s.basis, s.breakdown, s.population_group, s.num, s.den,
           s.providers, p.population, s.hidden, s.rid, s.numf, s.denf,
        CASE i.measure
            WHEN 'proportion' THEN CASE WHEN s.den > 0 THEN 100 * (CASE WHEN s.num < 5 THEN s.num ELSE 5 * floor(s.num / 5.0 + 0.5) END) / (CASE WHEN s.den < 5 THEN s.den ELSE 5 * floor(s.den / 5.0 + 0.5) END) END
            WHEN 'mean' THEN CASE WHEN s.den > 0 THEN s.num / s.den END
            WHEN 'count' THEN s.num
            WHEN 'rate' THEN CASE WHEN p.population > 0 THEN (CASE WHEN s.num < 5 THEN s.num ELSE 5 * floor(s.num / 5.0 + 0.5) END) / p.population * 100000 END
        END AS value,
        -- Disclosure: counts below 5, or a ratio with a part below 5, are suppressed (London's too);
        -- so is a percentage of a published denominator below PERCENT_MIN_DENOMINATOR (its counts are
        -- still shown): computed from rounded counts, it could be far from the exact one.
        (s.num < 5 OR (i.measure IN ('proportion', 'mean') AND s.den < 5)
         OR (i.measure = 'proportion' AND (CASE WHEN s.den < 5 THEN s.den ELSE 5 * floor(s.den / 5.0 + 0.5) END) < 50)) AS suppressed,
        i.measure, i.polarity, i.period_type, a.level, a.parent_id
    FROM s
    JOIN outcomes_indicator i ON i.id = s.indicator_id
    JOIN stakeholders_area a ON a.id = s.area_id
    LEFT JOIN metrics_pop p ON p.area_id = s.area_id AND p.year = date_part('year', s.period_start)::int
         AND p.breakdown = s.breakdown AND p.population_group = s.population_group
    OFFSET 0  -- a fence: each limit is computed once, then rounded (_round6 names it three times)
)
,
m AS (
    SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, num::numeric(20, 4) AS numerator,
           den::bigint AS denominator,
           population, providers, round(value::numeric, 6) AS value, suppressed, hidden, rid, numf, denf, measure,
           polarity, period_type, level
    FROM computed
    OFFSET 0  -- a fence: each row is rounded once, not once for every mention of its value below
),
by_area AS (
    SELECT m.*, max(m.value) FILTER (WHERE m.population_group = '' AND NOT m.suppressed AND NOT m.hidden)
               OVER area_cell AS all_value
    FROM m
    WINDOW area_cell AS (PARTITION BY m.indicator_id, m.period_start, m.basis, m.area_id)
),
windowed AS (
    SELECT m.*, max(m.value) FILTER (WHERE m.area_id = %(london_id)s AND NOT m.suppressed AND NOT m.hidden)
               OVER cell AS london_value,
           count(*) FILTER (WHERE m.eligible) OVER cell AS n_eligible,
           rank() OVER cell AS rnk
    FROM (SELECT m.*, (m.population_group = '' AND m.level = 'borough' AND m.measure <> 'count' AND m.value IS NOT NULL
            AND NOT m.suppressed) AS eligible,
           CASE WHEN m.polarity = 'lower' THEN m.value ELSE -m.value END AS rank_key FROM by_area m) m
    WINDOW cell AS (PARTITION BY m.indicator_id, m.period_start, m.basis, m.breakdown, m.population_group ORDER BY NOT m.eligible, m.rank_key ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
ranked AS (
    -- x, y, w and t: the trend's inputs (trend_in below)
    SELECT m.numf AS x, m.value::float8 AS y,
           CASE m.measure WHEN 'proportion' THEN m.denf
                          WHEN 'rate' THEN m.population::float8 ELSE 1 END AS w,
           ((date_part('year', m.period_start) * 12 + date_part('month', m.period_start)) - (date_part('year', ind.origin) * 12 + date_part('month', ind.origin)))
            / CASE m.period_type WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END AS t,
           m.*,
        CASE WHEN m.eligible AND m.n_eligible >= 5
             THEN ((m.rnk - 1) * 5 / m.n_eligible) + 1 END AS quintile,
           ind.since
    FROM windowed m JOIN ind USING (indicator_id)
),
trend_in AS (
    -- the trend's inputs alone: its sort and window pass move narrow rows, joined back after
    SELECT rid, x, y, w, t, indicator_id, area_id, basis, breakdown, population_group, measure, suppressed, hidden
    FROM ranked
),
lagged AS (
    SELECT trend_in.*,
        lag(x, 1) OVER win AS x_1,
        lag(x, 2) OVER win AS x_2,
        lag(x, 3) OVER win AS x_3,
        lag(x, 4) OVER win AS x_4,
        lag(w, 1) OVER win AS w_1,
        lag(w, 2) OVER win AS w_2,
        lag(w, 3) OVER win AS w_3,
        lag(w, 4) OVER win AS w_4,
        lag(y, 1) OVER win AS y_1,
        lag(y, 2) OVER win AS y_2,
        lag(y, 3) OVER win AS y_3,
        lag(y, 4) OVER win AS y_4,
        lag(t, 4) OVER win AS t_4,
        count(*) FILTER (WHERE (suppressed OR hidden OR y IS NULL OR w IS NULL OR w <= 0)) OVER win AS bad_in_five
    FROM trend_in
    WINDOW win AS (PARTITION BY indicator_id, area_id, basis, breakdown, population_group ORDER BY t ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)
),
sums AS (
    SELECT lagged.*,
        CASE WHEN t_4 >= t - 4 THEN 5 ELSE 0 END AS k,
        bad_in_five > 0 AS gap,
        w_4 + w_3 + w_2 + w_1 + w AS sw,
        x_4 + x_3 + x_2 + x_1 + x AS sx,
        w_4 * (t - 4) + w_3 * (t - 3) + w_2 * (t - 2) + w_1 * (t - 1) + w * t AS swt,
        w_4 * (t - 4) * (t - 4) + w_3 * (t - 3) * (t - 3) + w_2 * (t - 2) * (t - 2) + w_1 * (t - 1) * (t - 1) + w * t * t AS swtt,
        x_4 * (t - 4) + x_3 * (t - 3) + x_2 * (t - 2) + x_1 * (t - 1) + x * t AS sxt,
        (t - 4) + (t - 3) + (t - 2) + (t - 1) + t AS st,
        (t - 4) * (t - 4) + (t - 3) * (t - 3) + (t - 2) * (t - 2) + (t - 1) * (t - 1) + t * t AS stt,
        y_4 + y_3 + y_2 + y_1 + y AS sy,
        y_4 * y_4 + y_3 * y_3 + y_2 * y_2 + y_1 * y_1 + y * y AS syy,
        (t - 4) * y_4 + (t - 3) * y_3 + (t - 2) * y_2 + (t - 1) * y_1 + t * y AS sty
    FROM lagged
),
trends AS (
    SELECT rid,
        CASE
            WHEN k < 5 OR gap THEN ''
            WHEN measure = 'mean' THEN
                CASE WHEN (stt - st * st / 5) <= 0 THEN ''
                     WHEN ((syy - sy * sy / 5) - ((sty - st * sy / 5)) ^ 2 / nullif((stt - st * st / 5), 0)) <= 0 THEN CASE WHEN (sty - st * sy / 5) > 0 THEN 'increasing' WHEN (sty - st * sy / 5) < 0 THEN 'decreasing'
                                                   ELSE 'no_change' END
                     WHEN abs((sty - st * sy / 5) / (stt - st * st / 5)) / sqrt(((syy - sy * sy / 5) - ((sty - st * sy / 5)) ^ 2 / nullif((stt - st * st / 5), 0)) / 3 / (stt - st * st / 5)) > 3.182446305284263
                         THEN CASE WHEN (sty - st * sy / 5) > 0 THEN 'increasing' ELSE 'decreasing' END
                     ELSE 'no_change' END
            ELSE
                CASE WHEN (CASE WHEN measure = 'proportion' THEN (sx / sw) * (1 - sx / sw) * (swtt - swt * swt / sw) ELSE sx * (swtt / sw - (swt / sw) ^ 2) END) <= 0 THEN 'no_change'
                     WHEN (sxt - sx * swt / sw) * (sxt - sx * swt / sw) / (CASE WHEN measure = 'proportion' THEN (sx / sw) * (1 - sx / sw) * (swtt - swt * swt / sw) ELSE sx * (swtt / sw - (swt / sw) ^ 2) END) > 3.841458820694124
                         THEN CASE WHEN (sxt - sx * swt / sw) > 0 THEN 'increasing' ELSE 'decreasing' END
                     ELSE 'no_change' END
        END AS trend
    FROM sums
),
-- The limits (the incremental path's formulas), rounded, then the comparison with London.
limits AS (
    SELECT r.*, tr.trend,
           CASE r.measure WHEN 'proportion' THEN CASE WHEN r.denf > 0 AND r.numf <= r.denf THEN (100 * (2 * r.numf + 1.959963984540054^2 - 1.959963984540054 * sqrt(1.959963984540054^2 + 4 * r.numf * (1 - r.numf / r.denf))) / (2 * (r.denf + 1.959963984540054^2))) END WHEN 'count' THEN (CASE WHEN r.numf < 10 THEN e.l95 ELSE (r.numf * power(1 - 1 / (9 * r.numf) - 1.959963984540054 / (3 * sqrt(r.numf)), 3)) END) WHEN 'rate' THEN CASE WHEN r.population > 0 THEN (CASE WHEN r.numf < 10 THEN e.l95 ELSE (r.numf * power(1 - 1 / (9 * r.numf) - 1.959963984540054 / (3 * sqrt(r.numf)), 3)) END) / r.population * 100000 END END AS lower95_f,
           CASE r.measure WHEN 'proportion' THEN CASE WHEN r.denf > 0 AND r.numf <= r.denf THEN (100 * (2 * r.numf + 1.959963984540054^2 + 1.959963984540054 * sqrt(1.959963984540054^2 + 4 * r.numf * (1 - r.numf / r.denf))) / (2 * (r.denf + 1.959963984540054^2))) END WHEN 'count' THEN (CASE WHEN r.numf < 10 THEN e.u95 ELSE ((r.numf + 1) * power(1 - 1 / (9 * (r.numf + 1)) + 1.959963984540054 / (3 * sqrt(r.numf + 1)), 3)) END) WHEN 'rate' THEN CASE WHEN r.population > 0 THEN (CASE WHEN r.numf < 10 THEN e.u95 ELSE ((r.numf + 1) * power(1 - 1 / (9 * (r.numf + 1)) + 1.959963984540054 / (3 * sqrt(r.numf + 1)), 3)) END) / r.population * 100000 END END AS upper95_f,
           CASE r.measure WHEN 'proportion' THEN CASE WHEN r.denf > 0 AND r.numf <= r.denf THEN (100 * (2 * r.numf + 3.090232306167813^2 - 3.090232306167813 * sqrt(3.090232306167813^2 + 4 * r.numf * (1 - r.numf / r.denf))) / (2 * (r.denf + 3.090232306167813^2))) END WHEN 'count' THEN (CASE WHEN r.numf < 10 THEN e.l998 ELSE (r.numf * power(1 - 1 / (9 * r.numf) - 3.090232306167813 / (3 * sqrt(r.numf)), 3)) END) WHEN 'rate' THEN CASE WHEN r.population > 0 THEN (CASE WHEN r.numf < 10 THEN e.l998 ELSE (r.numf * power(1 - 1 / (9 * r.numf) - 3.090232306167813 / (3 * sqrt(r.numf)), 3)) END) / r.population * 100000 END END AS lower998_f,
           CASE r.measure WHEN 'proportion' THEN CASE WHEN r.denf > 0 AND r.numf <= r.denf THEN (100 * (2 * r.numf + 3.090232306167813^2 + 3.090232306167813 * sqrt(3.090232306167813^2 + 4 * r.numf * (1 - r.numf / r.denf))) / (2 * (r.denf + 3.090232306167813^2))) END WHEN 'count' THEN (CASE WHEN r.numf < 10 THEN e.u998 ELSE ((r.numf + 1) * power(1 - 1 / (9 * (r.numf + 1)) + 3.090232306167813 / (3 * sqrt(r.numf + 1)), 3)) END) WHEN 'rate' THEN CASE WHEN r.population > 0 THEN (CASE WHEN r.numf < 10 THEN e.u998 ELSE ((r.numf + 1) * power(1 - 1 / (9 * (r.numf + 1)) + 3.090232306167813 / (3 * sqrt(r.numf + 1)), 3)) END) / r.population * 100000 END END AS upper998_f
    FROM ranked r JOIN trends tr USING (rid)
    LEFT JOIN (VALUES (0::float8, 0.0, 3.688879454113936, 0.0, 6.907755278982137), (1::float8, 0.025317807984289842, 5.571643390938899, 0.001000500333583479, 9.233413476451585), (2::float8, 0.24220927854396473, 7.224687667723961, 0.04540201776948771, 11.228872242412663), (3::float8, 0.6186721228956014, 8.767273069742327, 0.19053337756839683, 13.06224077918807), (4::float8, 1.0898653736263255, 10.241588675403698, 0.4285524136284182, 14.79414922253721), (5::float8, 1.6234863901184209, 11.66833207932267, 0.7393717319178172, 16.454745203680105), (6::float8, 2.20189425349085, 13.059474022518685, 1.1071046602555867, 18.06163684019907), (7::float8, 2.814363051519866, 14.422675361702378, 1.5203362603988069, 19.62617739538424), (8::float8, 3.4538321767484996, 15.763189220193315, 1.9708139217403748, 21.15619816583998), (9::float8, 4.115373097378328, 17.08480345141917, 2.452424404363695, 22.657373309062933)) AS e(x, l95, u95, l998, u998) ON e.x = r.numf
    OFFSET 0  -- a fence: each limit is computed once, then rounded (_round6 names it three times)
),
rounded AS (
    SELECT l.*, CASE WHEN abs(lower95_f) < 1e12 THEN round(lower95_f * 1e6)::bigint * 0.000001 ELSE round(lower95_f::numeric, 6) END AS lower95, CASE WHEN abs(upper95_f) < 1e12 THEN round(upper95_f * 1e6)::bigint * 0.000001 ELSE round(upper95_f::numeric, 6) END AS upper95, CASE WHEN abs(lower998_f) < 1e12 THEN round(lower998_f * 1e6)::bigint * 0.000001 ELSE round(lower998_f::numeric, 6) END AS lower998, CASE WHEN abs(upper998_f) < 1e12 THEN round(upper998_f * 1e6)::bigint * 0.000001 ELSE round(upper998_f::numeric, 6) END AS upper998
    FROM limits l
    OFFSET 0  -- a fence: each rounded once, not once for every mention in the comparison
),
done AS MATERIALIZED (
    SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, numerator, denominator,
           population, providers, value,
           lower95, upper95, lower998, upper998, suppressed, hidden AS secondary_suppressed,
        CASE
            WHEN (m.level = 'london' AND m.population_group = '') OR m.measure = 'count' OR (CASE WHEN m.population_group = '' THEN m.london_value ELSE m.all_value END) IS NULL
                 OR m.lower95 IS NULL OR m.suppressed THEN 'not_compared'
            WHEN (CASE WHEN m.population_group = '' THEN m.london_value ELSE m.all_value END) BETWEEN m.lower95 AND m.upper95 THEN 'similar'
            WHEN m.polarity = 'none' THEN
                (CASE WHEN (CASE WHEN m.population_group = '' THEN m.london_value ELSE m.all_value END) NOT BETWEEN m.lower998 AND m.upper998 THEN 'much_' ELSE '' END)
                || (CASE WHEN m.lower95 > (CASE WHEN m.population_group = '' THEN m.london_value ELSE m.all_value END) THEN 'higher' ELSE 'lower' END)
            ELSE
                (CASE WHEN (CASE WHEN m.population_group = '' THEN m.london_value ELSE m.all_value END) NOT BETWEEN m.lower998 AND m.upper998 THEN 'much_' ELSE '' END)
                || (CASE WHEN (m.lower95 > (CASE WHEN m.population_group = '' THEN m.london_value ELSE m.all_value END)) = (m.polarity = 'higher') THEN 'better' ELSE 'worse' END)
        END AS comparison,
           quintile::smallint AS quintile, trend, since, rid
    FROM rounded m
),
-- From `since` on, the rows computed on both bases that came out the same in every figure.
same AS MATERIALIZED (
    SELECT a.rid FROM done a JOIN done p ON p.rid = a.rid + 1
    WHERE a.basis = 'approved' AND a.period_start >= a.since AND p.basis = 'provisional'
      AND (a.numerator, a.denominator, a.population, a.providers, a.value, a.lower95, a.upper95, a.lower998, a.upper998, a.suppressed, a.secondary_suppressed, a.comparison, a.quintile, a.trend) IS NOT DISTINCT FROM (p.numerator, p.denominator, p.population, p.providers, p.value, p.lower95, p.upper95, p.lower998, p.upper998, p.suppressed, p.secondary_suppressed, p.comparison, p.quintile, p.trend)
),
-- Before `since` and where the two are the same, the approved row is also the provisional one.
f AS (
    SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, numerator, denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile, trend,
           since IS NULL OR period_start < since OR rid IN (SELECT rid FROM same) AS also_provisional
    FROM done WHERE basis = 'approved'
    UNION ALL
    SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, numerator, denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile, trend, false
    FROM done WHERE basis = 'provisional' AND period_start >= since AND rid - 1 NOT IN (SELECT rid FROM same)
)
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, breakdown, population_group, numerator, denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile, trend, also_provisional,
    computed_at)
SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, numerator, denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile, trend, also_provisional, now() FROM f
