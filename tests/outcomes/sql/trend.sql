
WITH touched AS (
    SELECT c.indicator_id, min(c.period_start) AS since, max(c.period_start) AS until
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
    GROUP BY c.indicator_id
),
idx AS (
    -- A period's position on its indicator's calendar: months, quarters or years since 2000.
    SELECT i.id, i.measure, i.period_type,
           CASE i.period_type WHEN 'month' THEN interval '4 months' WHEN 'quarter' THEN interval '12 months' ELSE interval '4 years' END AS lookback,
           CASE i.period_type WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END AS months
    FROM outcomes_indicator i JOIN touched t ON t.indicator_id = i.id
),
m AS (
    SELECT m.id, m.indicator_id, m.area_id, b.basis, m.breakdown, m.population_group, m.period_start, m.trend,
           m.suppressed,
           m.secondary_suppressed AS hidden, i.measure,
           (CASE WHEN m.numerator < 5 THEN m.numerator ELSE 5 * floor(m.numerator / 5.0 + 0.5) END)::float8 AS x, m.value::float8 AS y,
           CASE i.measure WHEN 'proportion' THEN (CASE WHEN m.denominator < 5 THEN m.denominator ELSE 5 * floor(m.denominator / 5.0 + 0.5) END)::float8
                          WHEN 'rate' THEN m.population::float8 ELSE 1 END AS w,
           -- relative to the earliest touched period, so the sums stay small
           ((date_part('year', m.period_start) * 12 + date_part('month', m.period_start)) - (date_part('year', t.since) * 12 + date_part('month', t.since))) / i.months AS t,
           t.since, t.until + i.lookback AS upto
    FROM outcomes_metric m
    JOIN touched t ON t.indicator_id = m.indicator_id
    JOIN idx i ON i.id = m.indicator_id
    -- The four periods before the earliest touched one are read, never written, and not split
    -- (SPAN_CTE): there an approved row that is also the provisional one is read for both bases.
    CROSS JOIN LATERAL (SELECT m.basis UNION ALL SELECT 'provisional' WHERE m.also_provisional) b(basis)
    WHERE m.period_start BETWEEN t.since - i.lookback AND t.until + i.lookback
),
lagged AS (
    SELECT m.*,
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
    FROM m
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
stat AS (
    SELECT id, basis, trend, period_start, since, upto,
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
        END AS new_trend
    FROM sums
)
UPDATE outcomes_metric t SET trend = s.new_trend
FROM stat s
WHERE t.id = s.id AND t.basis = s.basis AND s.period_start BETWEEN s.since AND s.upto
  AND t.trend IS DISTINCT FROM s.new_trend
