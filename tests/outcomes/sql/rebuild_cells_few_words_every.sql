CREATE TEMPORARY TABLE metrics_cells ON COMMIT DROP AS
WITH v AS MATERIALIZED (
    SELECT indicator_id, period_start, breakdown, population_group, borough_id, status = 'approved' AS approved,
           organisation_id >> 6 AS word, bit_or(1::bigint << (organisation_id & 63)::int) AS bits,
           sum(numerator) AS num, sum(denominator) AS den
    FROM outcomes_outcomevalue
    WHERE status IN ('approved', 'submitted')
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
x AS (
    SELECT v.*, b.parent_id,
           CASE WHEN v.num < 900000000000000 THEN (v.num * 10000)::bigint END AS num4,
           CASE WHEN v.den < 9000000000000000000 THEN v.den::bigint END AS den8
    FROM v JOIN stakeholders_area b ON b.id = v.borough_id
    OFFSET 0  -- a fence: num4 and den8 are computed once a row, not once a mention
),
sums AS (
    SELECT indicator_id, period_start, breakdown, population_group, CASE GROUPING(borough_id, parent_id) WHEN 1 THEN borough_id WHEN 2 THEN parent_id
                ELSE %(london_id)s END AS area_id,
           sum(num4) FILTER (WHERE approved) AS num4_a, sum(num) FILTER (WHERE approved AND num4 IS NULL) AS big_a,
           sum(den8) FILTER (WHERE approved) AS den8_a,
           sum(den) FILTER (WHERE approved AND den8 IS NULL AND den IS NOT NULL) AS bigden_a,
           sum(num4) AS num4_p, sum(num) FILTER (WHERE num4 IS NULL) AS big_p, sum(den8) AS den8_p,
           sum(den) FILTER (WHERE den8 IS NULL AND den IS NOT NULL) AS bigden_p,
           (coalesce(bit_count(bit_or(bits) FILTER (WHERE approved AND word = 0)::bit(64)), 0) + coalesce(bit_count(bit_or(bits) FILTER (WHERE approved AND word = 1)::bit(64)), 0))::int AS providers_a, (coalesce(bit_count(bit_or(bits) FILTER (WHERE word = 0)::bit(64)), 0) + coalesce(bit_count(bit_or(bits) FILTER (WHERE word = 1)::bit(64)), 0))::int AS providers_p
    FROM x
    GROUP BY GROUPING SETS ((indicator_id, period_start, breakdown, population_group, borough_id),
                          (indicator_id, period_start, breakdown, population_group, parent_id), (indicator_id, period_start, breakdown, population_group))
),
cells AS (
    SELECT indicator_id, period_start, breakdown, population_group, area_id,
       CASE WHEN big_a IS NULL THEN num4_a * 0.0001 ELSE coalesce(num4_a * 0.0001, 0) + big_a END AS num_a,
       CASE WHEN bigden_a IS NULL THEN den8_a ELSE coalesce(den8_a, 0) + bigden_a END AS den_a, providers_a,
       CASE WHEN big_p IS NULL THEN num4_p * 0.0001 ELSE coalesce(num4_p * 0.0001, 0) + big_p END AS num_p,
       CASE WHEN bigden_p IS NULL THEN den8_p ELSE coalesce(den8_p, 0) + bigden_p END AS den_p, providers_p
    FROM sums
)
SELECT *,
       -- no submitted values count here: the provisional row is the approved one
       coalesce(providers_a = providers_p AND num_a = num_p AND den_a IS NOT DISTINCT FROM den_p, false) AS same,
       false AS hidden_a, false AS hidden_p,  -- secondary suppression, set below for the few to hide
       row_number() OVER () AS rid  -- a row's key: its bases' rows are 2 rid and 2 rid + 1 below
FROM cells
