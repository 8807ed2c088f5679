"""The key steps become the plan of action's own nine; the clinical themes become priority areas.

Until now the nine KeyStep rows were clinical themes (prevention, early help, crisis care...).
This migration carries every existing row over (docs/plans.md, "Key steps and priority areas"):

1. each theme becomes a priority area with the same slug and description (and a shorter name);
2. the indicators that measured a theme now measure its priority area;
3. each action and evidence item keeps its theme as a priority area, and moves to the key step
   that best fits the theme (THEME_TO_STEP below);
4. the nine rows are rewritten, in place, to the plan's nine steps (actionplan/key_steps.py,
   frozen here as it was written).

Rows are rewritten in place, so numbers 1 to 9 and the actions' foreign keys stay valid while
the work is done; only the meaning of each number changes.
"""

from django.db import migrations

# Old theme slug -> (priority area name, ordering, the number of the best-fitting new key step).
# The fit is by what work under the theme mostly asks of partners: crisis care is solved
# pan-London (section 136, crisis lines, out-of-area beds); joined-up community and physical care
# needs contracts that support integration; early help and young people's services are
# commissioned together across NHS and councils; homes and work need leaders across councils,
# the NHS and the police; research is the academic infrastructure; fairness and voice put
# service users at the core; prevention is the public health approach.
THEME_TO_STEP = {
    "prevention": ("Prevention and public mental health", 10, 5),
    "early-help": ("Early help", 20, 1),
    "children-young-people": ("Children, young people and new parents", 30, 1),
    "crisis-care": ("Crisis care", 40, 6),
    "severe-mental-illness": ("Severe mental illness", 50, 4),
    "physical-health": ("Physical and mental health together", 60, 4),
    "life-chances": ("Homes, work and belonging", 70, 2),
    "research-evidence": ("Research and evidence", 80, 8),
    "fairness-voice": ("Fair care and the voice of service users", 90, 3),
}

# The nine steps as this migration writes them (a frozen copy of actionplan/key_steps.py).
NINE_STEPS = [
    (
        1,
        "collaborative-commissioning",
        "Developing collaborative commissioning",
        "NHS and council commissioners agree shared priorities for mental health, pool what they can "
        "and commission together across boroughs, so that a change is planned once for the people it "
        "serves instead of borough by borough and service by service.",
    ),
    (
        2,
        "systems-leadership",
        "Driving change through collective systems leadership",
        "Leaders of trusts, councils, integrated care boards, the police and the voluntary sector take "
        "joint responsibility for London's mental health: they settle differences openly, put shared "
        "goals above their own organisation's and hold each other to one plan.",
    ),
    (
        3,
        "service-users-clinicians",
        "Service users and clinicians at the core of provision",
        "People who use services, their carers and front-line clinicians shape what is commissioned "
        "and how it runs: they sit where decisions are made, design services with commissioners and "
        "judge whether those services work.",
    ),
    (
        4,
        "contracting-integration",
        "Contracting systems that support integration",
        "Contracts, payment and incentives reward providers for working together around the person, "
        "for example alliance and outcome-based contracts, in place of terms that keep services and "
        "budgets apart.",
    ),
    (
        5,
        "public-health-approach",
        "A public health approach to mental wellbeing",
        "Councils, the NHS and communities act on the causes of poor mental health and promote "
        "wellbeing across the whole population, in schools, workplaces and neighbourhoods, not only "
        "once people become ill.",
    ),
    (
        6,
        "pan-london-solutions",
        "Pan-London solutions",
        "Where a problem crosses borough lines, such as crisis care, police detentions or specialist "
        "beds, London's partners solve it once and together, so that the answer reaches every "
        "Londoner and has more impact.",
    ),
    (
        7,
        "outcomes-data",
        "Meaningful outcomes data",
        "Partners agree the outcomes that matter to people, collect them the same way across London "
        "and share them openly, so that everyone can see what is improving and where.",
    ),
    (
        8,
        "academic-infrastructure",
        "Using London's academic infrastructure to disseminate best practice",
        "London's universities, applied research collaborations and health innovation networks "
        "evaluate what works and help commissioners and providers put it into everyday care.",
    ),
    (
        9,
        "new-narrative",
        "A new narrative for mental health",
        "Partners tell one hopeful, honest story about mental health, challenge stigma alongside "
        "people with lived experience and make the case for parity with physical health.",
    ),
]


def step_for_theme(theme_slug: str) -> int:
    """The number of the plan-of-action key step that best fits an old clinical theme."""
    return THEME_TO_STEP[theme_slug][2]


def carry_over(apps, schema_editor):
    KeyStep = apps.get_model("actionplan", "KeyStep")
    Action = apps.get_model("actionplan", "Action")
    EvidenceItem = apps.get_model("actionplan", "EvidenceItem")
    PriorityArea = apps.get_model("outcomes", "PriorityArea")

    rows = {row.number: row for row in KeyStep.objects.all()}
    themes = {row.pk: row for row in rows.values() if row.slug in THEME_TO_STEP}
    # 1 and 2: a priority area per theme, measured by the theme's indicators.
    areas = {}
    for pk, row in themes.items():
        name, ordering, _ = THEME_TO_STEP[row.slug]
        area, _ = PriorityArea.objects.get_or_create(
            slug=row.slug, defaults={"name": name, "description": row.description, "ordering": ordering}
        )
        area.indicators.add(*row.indicators.all())
        areas[pk] = area

    # 3: read every action's and evidence item's theme before any key step moves.
    action_theme = dict(Action.objects.filter(key_step_id__in=themes).values_list("pk", "key_step_id"))
    evidence_themes = {}
    for item_id, step_id in EvidenceItem.key_steps.through.objects.filter(keystep_id__in=themes).values_list(
        "evidenceitem_id", "keystep_id"
    ):
        evidence_themes.setdefault(item_id, []).append(step_id)

    # 4: the nine rows rewritten in place (new slugs never equal old ones, so no clash midway).
    for number, slug, title, description in NINE_STEPS:
        row = rows.get(number)
        if row is None:
            rows[number] = KeyStep.objects.create(number=number, slug=slug, title=title, description=description)
        else:
            KeyStep.objects.filter(pk=row.pk).update(slug=slug, title=title, description=description)
    step_pk = {number: row.pk for number, row in rows.items()}
    for row in themes.values():
        row.indicators.clear()

    by_new_step = {}
    for action_id, theme_pk in action_theme.items():
        by_new_step.setdefault(step_pk[step_for_theme(themes[theme_pk].slug)], []).append(action_id)
        Action.priority_areas.through.objects.get_or_create(action_id=action_id, priorityarea_id=areas[theme_pk].pk)
    for new_pk, action_ids in by_new_step.items():
        Action.objects.filter(pk__in=action_ids).update(key_step_id=new_pk)

    for item_id, theme_pks in evidence_themes.items():
        item = EvidenceItem.objects.get(pk=item_id)
        item.priority_areas.add(*(areas[pk] for pk in theme_pks))
        item.key_steps.set([step_pk[step_for_theme(themes[pk].slug)] for pk in theme_pks])


def carry_back(apps, schema_editor):
    """Undo: the rows become the themes again, each action back under its first old theme."""
    KeyStep = apps.get_model("actionplan", "KeyStep")
    Action = apps.get_model("actionplan", "Action")
    EvidenceItem = apps.get_model("actionplan", "EvidenceItem")
    PriorityArea = apps.get_model("outcomes", "PriorityArea")

    old_numbers = {}
    # The original numbering of the themes, in THEME_TO_STEP's order (as migration 0002 wrote them).
    for number, slug in enumerate(THEME_TO_STEP, start=1):
        old_numbers[slug] = number
    areas = {a.slug: a for a in PriorityArea.objects.filter(slug__in=THEME_TO_STEP).prefetch_related("indicators")}
    rows = {row.number: row for row in KeyStep.objects.all()}
    moves = {}
    for action in Action.objects.prefetch_related("priority_areas"):
        slugs = [a.slug for a in action.priority_areas.all() if a.slug in old_numbers]
        if slugs:
            moves.setdefault(rows[old_numbers[slugs[0]]].pk, []).append(action.pk)
    for item in EvidenceItem.objects.prefetch_related("priority_areas"):
        slugs = [a.slug for a in item.priority_areas.all() if a.slug in old_numbers]
        if slugs:
            item.key_steps.set([rows[old_numbers[s]].pk for s in slugs])
    for slug, number in old_numbers.items():
        area = areas.get(slug)
        KeyStep.objects.filter(number=number).update(
            slug=slug, title=area.name if area else slug, description=area.description if area else ""
        )
        if area:
            rows[number].indicators.set(area.indicators.all())
    for pk, action_ids in moves.items():
        Action.objects.filter(pk__in=action_ids).update(key_step_id=pk)


class Migration(migrations.Migration):
    dependencies = [
        ("actionplan", "0004_priority_areas"),
        ("outcomes", "0009_priority_areas"),
    ]
    operations = [migrations.RunPython(carry_over, carry_back)]
