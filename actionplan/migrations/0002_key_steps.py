"""Load the nine key steps as they were first written: nine clinical themes.

Frozen here (it used to read actionplan/key_steps.py), so that a new database replays history
as it happened: migration 0005 turns these themes into priority areas and rewrites the rows to
the plan of action's own nine steps.
"""

from django.db import migrations

# number, slug, title, description
THEMES = [
    (
        1,
        "prevention",
        "Promote good mental health and prevent illness",
        "Public mental health across London: reduce the things that harm mental health, strengthen "
        "the things that protect it, and prevent suicide.",
    ),
    (
        2,
        "early-help",
        "Early help close to home",
        "Quick access to talking therapies and community support through GPs, schools and voluntary "
        "services, before problems become crises.",
    ),
    (
        3,
        "children-young-people",
        "Children, young people and new parents",
        "Timely help for children, young people and parents in the perinatal period, and smooth "
        "moves from children's to adult services.",
    ),
    (
        4,
        "crisis-care",
        "Crisis care that responds within hours",
        "Round-the-clock crisis lines, crisis teams and safe places, fewer police detentions, and "
        "nobody sent out of London for a bed they could have had locally.",
    ),
    (
        5,
        "severe-mental-illness",
        "Community care for severe mental illness",
        "Joined-up community care for people with psychosis and other severe illness, with early "
        "intervention and follow-up after discharge.",
    ),
    (
        6,
        "physical-health",
        "Physical and mental health together",
        "Annual physical health checks, and care that treats the whole person, so people with "
        "mental illness do not die years earlier than others.",
    ),
    (
        7,
        "life-chances",
        "Homes, work and belonging",
        "Settled homes, employment support and social connection as part of recovery, with carers "
        "recognised and supported.",
    ),
    (
        8,
        "research-evidence",
        "Research, evidence and learning",
        "Use London's academic infrastructure to evaluate what works, share best practice and put "
        "evidence into everyday commissioning.",
    ),
    (
        9,
        "fairness-voice",
        "Fair care shaped by the people who use it",
        "Close gaps in access, experience and outcomes between communities, reduce restrictive "
        "practice, and commission with service users and carers.",
    ),
]


def load(apps, schema_editor):
    KeyStep = apps.get_model("actionplan", "KeyStep")
    for number, slug, title, description in THEMES:
        KeyStep.objects.update_or_create(
            number=number, defaults={"slug": slug, "title": title, "description": description}
        )


def unload(apps, schema_editor):
    apps.get_model("actionplan", "KeyStep").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("actionplan", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
