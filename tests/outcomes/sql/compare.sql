
WITH cells AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
),
m AS (
    SELECT m.id, m.indicator_id, m.period_start, m.basis, m.area_id, m.breakdown, m.population_group, m.value,
           m.lower95, m.upper95, m.lower998, m.upper998, m.suppressed, m.secondary_suppressed AS hidden, a.level,
           i.polarity, i.measure
    FROM outcomes_metric m
    JOIN cells c ON c.indicator_id = m.indicator_id AND c.period_start = m.period_start
    JOIN stakeholders_area a ON a.id = m.area_id
    JOIN outcomes_indicator i ON i.id = m.indicator_id
),
-- London's value beside every row of its cell (a window, not a self-join: the planner
-- cannot estimate the unnest() cells and would pick a quadratic nested loop).
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
    SELECT m.id,
        CASE WHEN m.eligible AND m.n_eligible >= 5
             THEN ((m.rnk - 1) * 5 / m.n_eligible) + 1 END AS quintile,
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
        END AS comparison
    FROM windowed m
)
UPDATE outcomes_metric t SET quintile = r.quintile, comparison = r.comparison
FROM ranked r
WHERE t.id = r.id AND (t.quintile, t.comparison) IS DISTINCT FROM (r.quintile, r.comparison)
