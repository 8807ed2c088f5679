
UPDATE metrics_cells c SET hidden_a = h.a, hidden_p = h.p
FROM (SELECT indicator_id, area_id, period_start, breakdown, population_group, bool_or(basis = 'approved') AS a,
             bool_or(basis = 'provisional') AS p
      FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::text[], %s::text[], %s::text[])
           AS h(indicator_id, area_id, period_start, basis, breakdown, population_group)
      GROUP BY 1, 2, 3, 4, 5) h  -- one row a cell, area and group: an UPDATE applies only one joined row
WHERE c.indicator_id = h.indicator_id AND c.area_id = h.area_id AND c.period_start = h.period_start
  AND c.breakdown = h.breakdown AND c.population_group = h.population_group
