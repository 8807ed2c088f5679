"""Counts are never compared with London nor ranked (docs/statistics.md, "What is compared with what").

Stored rows of count indicators lose their comparison and quintile, as both aggregation paths
now write them; the approved and provisional rows of a pair change alike, so the folded pairs
(`also_provisional`) stay valid. Reversing leaves them: the next recompute or rebuild of the
previous code would put them back.
"""

from django.db import migrations

FORWARD = """
UPDATE outcomes_metric m SET comparison = 'not_compared', quintile = NULL
FROM outcomes_indicator i
WHERE i.id = m.indicator_id AND i.measure = 'count'
  AND (m.comparison <> 'not_compared' OR m.quintile IS NOT NULL)
"""


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0009_priority_areas")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=migrations.RunSQL.noop)]
