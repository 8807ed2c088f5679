
WITH new AS (
    SELECT indicator_id, area_id, period_start, basis, breakdown, groups_compared, suppressed, best_group, worst_group,
           round(best_value, 6) AS best_value, round(worst_value, 6) AS worst_value, round(gap, 6) AS gap, round(ratio, 6) AS ratio, round(sii, 6) AS sii, round(sii_lower95, 6) AS sii_lower95, round(sii_upper95, 6) AS sii_upper95, round(rii, 6) AS rii, round(rii_lower95, 6) AS rii_lower95, round(rii_upper95, 6) AS rii_upper95
    FROM unnest(%(indicator_id)s::bigint[], %(area_id)s::bigint[], %(period_start)s::date[],
                %(basis)s::text[], %(breakdown)s::text[], %(groups_compared)s::int[],
                %(suppressed)s::boolean[], %(best_group)s::text[], %(worst_group)s::text[],
                %(best_value)s::numeric[], %(worst_value)s::numeric[], %(gap)s::numeric[], %(ratio)s::numeric[], %(sii)s::numeric[], %(sii_lower95)s::numeric[], %(sii_upper95)s::numeric[], %(rii)s::numeric[], %(rii_lower95)s::numeric[], %(rii_upper95)s::numeric[])
           AS n(indicator_id, area_id, period_start, basis, breakdown, groups_compared, suppressed, best_group, worst_group, best_value, worst_value, gap, ratio, sii, sii_lower95, sii_upper95, rii, rii_lower95, rii_upper95)
),
deleted AS (
    DELETE FROM outcomes_inequalitymetric m
    WHERE (m.indicator_id, m.period_start) IN (SELECT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]))
      AND NOT EXISTS (SELECT 1 FROM new n WHERE n.indicator_id = m.indicator_id AND n.area_id = m.area_id AND n.period_start = m.period_start AND n.basis = m.basis AND n.breakdown = m.breakdown)
    RETURNING 1
),
written AS (
    INSERT INTO outcomes_inequalitymetric (indicator_id, area_id, period_start, basis, breakdown, groups_compared, suppressed, best_group, worst_group, best_value, worst_value, gap, ratio, sii, sii_lower95, sii_upper95, rii, rii_lower95, rii_upper95, computed_at)
    SELECT indicator_id, area_id, period_start, basis, breakdown, groups_compared, suppressed, best_group, worst_group, best_value, worst_value, gap, ratio, sii, sii_lower95, sii_upper95, rii, rii_lower95, rii_upper95, now() FROM new
    ON CONFLICT (indicator_id, period_start, area_id, basis, breakdown) DO UPDATE SET
        groups_compared = EXCLUDED.groups_compared, suppressed = EXCLUDED.suppressed, best_group = EXCLUDED.best_group, worst_group = EXCLUDED.worst_group, best_value = EXCLUDED.best_value, worst_value = EXCLUDED.worst_value, gap = EXCLUDED.gap, ratio = EXCLUDED.ratio, sii = EXCLUDED.sii, sii_lower95 = EXCLUDED.sii_lower95, sii_upper95 = EXCLUDED.sii_upper95, rii = EXCLUDED.rii, rii_lower95 = EXCLUDED.rii_lower95, rii_upper95 = EXCLUDED.rii_upper95, computed_at = EXCLUDED.computed_at
    WHERE (outcomes_inequalitymetric.groups_compared, outcomes_inequalitymetric.suppressed, outcomes_inequalitymetric.best_group, outcomes_inequalitymetric.worst_group, outcomes_inequalitymetric.best_value, outcomes_inequalitymetric.worst_value, outcomes_inequalitymetric.gap, outcomes_inequalitymetric.ratio, outcomes_inequalitymetric.sii, outcomes_inequalitymetric.sii_lower95, outcomes_inequalitymetric.sii_upper95, outcomes_inequalitymetric.rii, outcomes_inequalitymetric.rii_lower95, outcomes_inequalitymetric.rii_upper95)
          IS DISTINCT FROM (EXCLUDED.groups_compared, EXCLUDED.suppressed, EXCLUDED.best_group, EXCLUDED.worst_group, EXCLUDED.best_value, EXCLUDED.worst_value, EXCLUDED.gap, EXCLUDED.ratio, EXCLUDED.sii, EXCLUDED.sii_lower95, EXCLUDED.sii_upper95, EXCLUDED.rii, EXCLUDED.rii_lower95, EXCLUDED.rii_upper95)
    RETURNING 1
)
SELECT (SELECT count(*) FROM deleted) + (SELECT count(*) FROM written)
