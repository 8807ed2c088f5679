from django.db import migrations, models

# Where no submitted value changes a row's figures, the approved row also serves as the provisional
# one (docs/outcomes.md, "Bases"): half the rows for the nightly rebuild to compute, write and
# compare. Existing pairs that are the same in every figure are folded here, as the rebuild would.
FOLD_SQL = """
WITH same AS (
    SELECT a.id AS approved_id, p.id AS provisional_id
    FROM outcomes_metric a JOIN outcomes_metric p
      ON p.indicator_id = a.indicator_id AND p.period_start = a.period_start AND p.area_id = a.area_id
     AND p.basis = 'provisional'
    WHERE a.basis = 'approved'
      AND (a.numerator, a.denominator, a.population, a.providers, a.value, a.lower95, a.upper95, a.lower998,
           a.upper998, a.suppressed, a.secondary_suppressed, a.comparison, a.quintile, a.trend)
          IS NOT DISTINCT FROM
          (p.numerator, p.denominator, p.population, p.providers, p.value, p.lower95, p.upper95, p.lower998,
           p.upper998, p.suppressed, p.secondary_suppressed, p.comparison, p.quintile, p.trend)
),
folded AS (
    DELETE FROM outcomes_metric m USING same WHERE m.id = same.provisional_id RETURNING 1
)
UPDATE outcomes_metric m SET also_provisional = true FROM same WHERE m.id = same.approved_id
"""

UNFOLD_SQL = """
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, numerator, denominator, population,
    providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile,
    trend, also_provisional, computed_at)
SELECT indicator_id, area_id, period_start, 'provisional', numerator, denominator, population, providers, value,
       lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile, trend, false,
       computed_at
FROM outcomes_metric WHERE also_provisional
"""


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0007_metric_natural_key_in_cell_order")]

    operations = [
        migrations.AddField(
            model_name="metric",
            name="also_provisional",
            field=models.BooleanField(
                default=False,
                db_default=False,
                help_text="An approved row that is also the provisional one: no submitted value changes any of its figures.",
            ),
        ),
        migrations.RunSQL(FOLD_SQL, reverse_sql=UNFOLD_SQL),
    ]
