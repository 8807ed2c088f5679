"""Load the nine key steps (fixed reference data from actionplan/key_steps.py)."""

from django.db import migrations


def load(apps, schema_editor):
    from actionplan.key_steps import KEY_STEPS

    KeyStep = apps.get_model("actionplan", "KeyStep")
    for number, slug, title, description in KEY_STEPS:
        KeyStep.objects.update_or_create(
            number=number, defaults={"slug": slug, "title": title, "description": description}
        )


def unload(apps, schema_editor):
    apps.get_model("actionplan", "KeyStep").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("actionplan", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
