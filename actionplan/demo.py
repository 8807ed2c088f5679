"""Synthetic demo plans, actions, milestones and evidence. Every plan here is invented.

Called by ``manage.py seed_demo`` after the organisations, people and indicators exist.
Idempotent: a plan or evidence item that is already there is left alone. Everything goes
through the services, so grants and history are as real plans have them; a few later
edits (and one bulk update) give the history tabs something to show.
"""

from __future__ import annotations

import datetime as dt
import random

import pghistory
from django.db import transaction

from actionplan import services
from actionplan.models import Action, ActionStatus, EvidenceItem, KeyStep, Plan, PlanStatus, PlanVisibility
from outcomes.models import Indicator, PriorityArea
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import Area, Organisation, User

# Which demo indicators measure each priority area (what actions improve).
PRIORITY_AREA_INDICATORS: dict[str, list[str]] = {
    "prevention": ["suicide-rate", "wellbeing-score"],
    "early-help": ["tt-access", "tt-recovery", "tt-wait-6wk"],
    "children-young-people": ["cyp-access", "perinatal-access"],
    "crisis-care": ["crisis-24h", "s136-detentions", "oap-inappropriate"],
    "severe-mental-illness": ["smi-contact-rate", "eip-2wk", "followup-72h", "readmit-30d", "dementia-diagnosis"],
    "physical-health": ["smi-physical-check"],
    "life-chances": ["smi-employment", "smi-settled-accom", "carer-assessment"],
    "research-evidence": ["dialog-score"],
    "fairness-voice": ["restraint-rate"],
}

# An action to seed: its title, the priority areas it improves and, optionally, the organisation that
# owns it (otherwise the plan's owners take turns).
ActionSpec = tuple[str, list[str]] | tuple[str, list[str], str]

# Five actions under each of the plan of action's nine key steps for the pan-London plan, each
# with the priority areas it improves and the partner that fits it as owner.
ACTIONS: dict[int, list[ActionSpec]] = {
    1: [
        ("Joint commissioning board for crisis care", ["crisis-care"], "NHS North East London Integrated Care Board"),
        (
            "Pooled budget for children and young people's mental health in each ICS",
            ["children-young-people"],
            "NHS South East London Integrated Care Board",
        ),
        (
            "One talking therapies specification across London's five ICSs",
            ["early-help"],
            "NHS North West London Integrated Care Board",
        ),
        (
            "Section 75 agreements for community mental health in every borough",
            ["severe-mental-illness"],
            "Camden Council",
        ),
        (
            "Commission perinatal mental health jointly across sub-regions",
            ["children-young-people"],
            "NHS South West London Integrated Care Board",
        ),
    ],
    2: [
        (
            "London mental health partnership board of NHS, council and police leaders",
            ["crisis-care"],
            "NHS England London Region (demo)",
        ),
        (
            "Shared leadership programme for trust, council and voluntary sector leaders",
            ["life-chances"],
            "NHS North Central London Integrated Care Board",
        ),
        ("Joint housing and mental health leadership group", ["life-chances"], "Safe Haven Housing Association"),
        (
            "Leaders' compact on the patient and carer race equality framework",
            ["fairness-voice"],
            "Northbank Mental Health NHS Foundation Trust",
        ),
        (
            "One workforce plan for mental health across London's employers",
            ["severe-mental-illness"],
            "NHS England London Region (demo)",
        ),
    ],
    3: [
        ("Lived-experience leadership programme", ["fairness-voice"], "Voices of Experience London"),
        ("Co-produce service specifications with service-user groups", ["fairness-voice"], "Carers Together London"),
        (
            "Clinical reference group advising every commissioning decision",
            ["severe-mental-illness"],
            "London Mental Health Clinical Network (demo)",
        ),
        (
            "Peer support workers in every community team",
            ["severe-mental-illness", "life-chances"],
            "South London Peer Support Collective",
        ),
        (
            "Advocacy for people detained under the Mental Health Act",
            ["fairness-voice", "crisis-care"],
            "Mind in North London (demo)",
        ),
    ],
    4: [
        ("Alliance contract for crisis care", ["crisis-care"], "NHS North East London Integrated Care Board"),
        (
            "Outcome-based contract for individual placement and support",
            ["life-chances"],
            "NHS South West London Integrated Care Board",
        ),
        (
            "Shared incentive for physical health checks for people with SMI",
            ["physical-health"],
            "NHS North West London Integrated Care Board",
        ),
        (
            "Joint incentive for follow-up within 72 hours of discharge",
            ["severe-mental-illness"],
            "NHS South East London Integrated Care Board",
        ),
        (
            "Lead-provider contract for children's community mental health",
            ["children-young-people"],
            "NHS South East London Integrated Care Board",
        ),
    ],
    5: [
        ("Thrive LDN-style wellbeing campaign", ["prevention"], "Greater London Authority health team (demo)"),
        (
            "London-wide suicide prevention programme with bereaved families",
            ["prevention"],
            "London Public Health Network (demo)",
        ),
        (
            "Mental health support teams in 80% of London schools",
            ["children-young-people", "prevention"],
            "NHS North Central London Integrated Care Board",
        ),
        (
            "Workplace wellbeing charter for London employers",
            ["prevention", "life-chances"],
            "Greater London Authority health team (demo)",
        ),
        (
            "Community wellbeing hubs in the ten most deprived wards",
            ["prevention", "fairness-voice"],
            "West London Wellbeing Trust",
        ),
    ],
    6: [
        ("Pan-London section 136 pathway", ["crisis-care"], "Metropolitan Police mental-health liaison (demo)"),
        (
            "24/7 crisis lines reachable through NHS 111 option 2",
            ["crisis-care"],
            "Northbank Mental Health NHS Foundation Trust",
        ),
        (
            "Bring inappropriate out-of-area placements to zero",
            ["crisis-care", "severe-mental-illness"],
            "Southriver Mental Health NHS Foundation Trust",
        ),
        (
            "One bed-management view of London's mental-health inpatient beds",
            ["severe-mental-illness"],
            "NHS England London Region (demo)",
        ),
        (
            "Pan-London access to mother and baby units",
            ["children-young-people"],
            "Perinatal Mental Health Network London (demo)",
        ),
    ],
    7: [
        (
            "Agree one London outcomes framework",
            ["early-help", "severe-mental-illness"],
            "NHS England London Region (demo)",
        ),
        (
            "Share routine outcome measures (DIALOG) across trusts",
            ["severe-mental-illness", "research-evidence"],
            "Southriver Mental Health NHS Foundation Trust",
        ),
        (
            "Publish access and outcome gaps by ethnicity each quarter",
            ["fairness-voice"],
            "UK Health Security Agency / OHID London (demo)",
        ),
        (
            "Common data standard for talking therapies recovery",
            ["early-help"],
            "NHS North West London Integrated Care Board",
        ),
        (
            "Real-time surveillance of suspected suicides in every borough",
            ["prevention"],
            "London Public Health Network (demo)",
        ),
    ],
    8: [
        (
            "Evaluation with the applied research collaboration",
            ["crisis-care", "research-evidence"],
            "Applied Research Collaboration South London (demo)",
        ),
        (
            "London evaluation framework for mental-health innovation",
            ["research-evidence"],
            "Institute of Psychiatry Research Unit (demo)",
        ),
        ("Research champions in every provider", ["research-evidence"], "Northbank Mental Health NHS Foundation Trust"),
        (
            "Publish a best-practice library for commissioners",
            ["research-evidence"],
            "London School of Community Health (demo)",
        ),
        (
            "Spread individual placement and support through the health innovation network",
            ["life-chances"],
            "UCLPartners-style Health Innovation Network (demo)",
        ),
    ],
    9: [
        (
            "Anti-stigma campaign co-produced with service users",
            ["fairness-voice", "prevention"],
            "Voices of Experience London",
        ),
        ("Parity of esteem pledge by every London ICS and council", ["prevention"], "NHS England London Region (demo)"),
        (
            "Media guidelines on reporting mental health and suicide",
            ["prevention"],
            "London Public Health Network (demo)",
        ),
        ("Recovery stories told by people with lived experience", ["fairness-voice"], "Voices of Experience London"),
        (
            "Mental health awareness for London's transport staff",
            ["prevention", "crisis-care"],
            "Greater London Authority health team (demo)",
        ),
    ],
}

# title, type, summary, key steps, priority areas, organisation
EVIDENCE: list[tuple[str, str, str, list[int], list[str], str]] = [
    (
        "Crisis cafés as an alternative to emergency departments: a London evaluation",
        "evaluation",
        "Mixed-methods evaluation of four evening crisis cafés. Visitors reported feeling safer; "
        "emergency department attendances for mental health fell in three of the four areas.",
        [8, 6],
        ["crisis-care", "research-evidence"],
        "London School of Community Health (demo)",
    ),
    (
        "Individual placement and support: what works in London boroughs",
        "case_study",
        "Case studies from six boroughs running **individual placement and support**: job outcomes, "
        "caseloads and how teams worked with employers.",
        [8, 4],
        ["life-chances"],
        "Applied Research Collaboration South London (demo)",
    ),
    (
        "Guideline: physical health checks for people with severe mental illness",
        "guideline",
        "A practical guide for primary care networks: the six checks, follow-up interventions, and "
        "how to reach people who do not attend.",
        [4],
        ["physical-health"],
        "London Mental Health Clinical Network (demo)",
    ),
    (
        "DIALOG outcome scores across London trusts, 2022 to 2025",
        "dataset",
        "Quarterly DIALOG+ scores by trust and team type, with a data dictionary. Synthetic demo data.",
        [7, 8],
        ["severe-mental-illness", "research-evidence"],
        "Institute of Psychiatry Research Unit (demo)",
    ),
    (
        "Reducing restrictive practice: a quality improvement collaborative",
        "evaluation",
        "Twelve inpatient wards used quality improvement methods to reduce restraint; the report "
        "sets out the change ideas that made most difference.",
        [3],
        ["fairness-voice"],
        "London Mental Health Clinical Network (demo)",
    ),
    (
        "Talking therapies outreach to under-served communities",
        "case_study",
        "How three services widened access for older people and Black and minority ethnic "
        "communities through community partners.",
        [3, 5],
        ["early-help", "fairness-voice"],
        "UCLPartners-style Health Innovation Network (demo)",
    ),
]

PAN_LONDON_TITLE = "London mental health action plan 2026 to 2029"
NCL_TITLE = "North Central London crisis and community plan"
SEL_TITLE = "South East London partners' plan for young people"
CAMDEN_TITLE = "Camden mental health and housing plan"


def _user(local: str) -> User:
    return User.objects.get(email=f"{local}@{DEMO_EMAIL_DOMAIN}")


def _org(name: str) -> Organisation:
    return Organisation.objects.get(name=name)


def _map_indicators() -> None:
    for slug, codes in PRIORITY_AREA_INDICATORS.items():
        area = PriorityArea.objects.filter(slug=slug).first()
        if area is not None:
            area.indicators.add(*Indicator.objects.filter(code__in=codes))


def _evidence(academic: User) -> list[EvidenceItem]:
    items = []
    for title, kind, summary, steps, areas, org_name in EVIDENCE:
        item = EvidenceItem.objects.filter(title=title).first()
        if item is None:
            item = services.evidence_create(
                actor=academic,
                title=title,
                summary=summary,
                type=kind,
                url="https://example.org/evidence/" + title.lower().replace(" ", "-")[:40],
                organisation=Organisation.objects.filter(name=org_name).first(),
                key_steps=KeyStep.objects.filter(number__in=steps),
                priority_areas=PriorityArea.objects.filter(slug__in=areas),
            )
        items.append(item)
    return items


def _spread_actions(
    plan: Plan,
    actor: User,
    titles: dict[int, list[ActionSpec]],
    owners: list[Organisation],
    leads: list[User],
    evidence: list[EvidenceItem],
    rng: random.Random,
    today: dt.date,
) -> list[Action]:
    steps = {s.number: s for s in KeyStep.objects.all()}
    areas = {a.slug: a for a in PriorityArea.objects.prefetch_related("indicators")}
    made: list[Action] = []
    statuses = [ActionStatus.ON_TRACK] * 4 + [ActionStatus.NOT_STARTED, ActionStatus.AT_RISK, ActionStatus.OFF_TRACK]
    for number, step_titles in titles.items():
        step = steps[number]
        step_actions = []
        for i, (title, area_slugs, *named_owner) in enumerate(step_titles):
            owner = _org(named_owner[0]) if named_owner else owners[(number + i) % len(owners)]
            partner = next((o for o in owners[(number + i + 1) % len(owners) :] + owners if o != owner), None)
            improves = [areas[slug] for slug in area_slugs if slug in areas]
            status = rng.choice(statuses) if i else ActionStatus.ON_TRACK
            progress = {ActionStatus.NOT_STARTED: 0}.get(status, rng.randrange(10, 95, 5))
            if i == 4 and number % 3 == 0:
                status, progress = ActionStatus.DONE, 100
            start = plan.period_start + dt.timedelta(days=30 * rng.randrange(0, 6))
            # A few are already past their due date.
            due = (
                today - dt.timedelta(days=rng.randrange(10, 80))
                if i == 3
                else start + dt.timedelta(days=30 * rng.randrange(8, 30))
            )
            indicators = dict.fromkeys(list(improves[0].indicators.all())[:1]) if i == 0 and improves else {}
            if indicators:
                first = next(iter(indicators))
                indicators[first] = {"proportion": 75, "rate": 50, "mean": 25}.get(first.measure, 1000)
            cites = (
                [e for e in evidence if number in e.key_steps.values_list("number", flat=True)][:1] if i == 1 else []
            )
            action = services.action_create(
                actor=actor,
                plan=plan,
                key_step=step,
                priority_areas=improves,
                title=title,
                owner_organisation=owner,
                lead=leads[(number * 5 + i) % len(leads)],
                description=f"What this involves and how we will know it has worked ({plan.title}).",
                status=status,
                progress=progress,
                start_date=start,
                due_date=max(due, start),
                weight=rng.choice([1, 1, 2, 3]),
                partners=[partner] if partner else [],
                dependencies=step_actions[:1] if i == 2 else [],
                indicators=indicators,
                evidence=cites,
            )
            for k in range(rng.randrange(0, 4)):
                due_ms = start + dt.timedelta(days=60 * (k + 1))
                services.milestone_create(
                    actor=actor,
                    action=action,
                    title=["Business case agreed", "Service live", "First evaluation report"][k],
                    due=due_ms,
                    done_on=due_ms if due_ms < today and rng.random() < 0.7 else None,
                )
            step_actions.append(action)
            made.append(action)
    return made


@transaction.atomic
def seed(today: dt.date | None = None) -> int:
    """Create the demo plans (idempotent). Returns how many plans were created."""
    from django.utils import timezone

    today = today or timezone.localdate()
    rng = random.Random(2026)  # noqa: S311 - a fixed seed for the same demo every time, not security
    _map_indicators()
    priya, tom, ade = _user("commissioner"), _user("la.commissioner"), _user("sel.commissioner")
    academic, clinician = _user("academic"), _user("clinician")
    evidence = _evidence(academic)
    created = 0

    if not Plan.objects.filter(title=PAN_LONDON_TITLE).exists():
        icbs = list(Organisation.objects.filter(name__endswith="Integrated Care Board").order_by("name"))
        plan = services.plan_create(
            actor=priya,
            title=PAN_LONDON_TITLE,
            summary=(
                "London's shared plan for mental health, agreed by the five integrated care systems, "
                "councils, providers, the police and service-user groups.\n\n"
                "- Organised under the **nine key steps** of London's plan of action, from collaborative "
                "commissioning to a new narrative for mental health\n"
                "- Progress is reviewed quarterly and published here\n"
            ),
            scope="pan_london",
            lead_organisation=_org("NHS England London Region (demo)"),
            partners=[
                *icbs,
                _org("London Public Health Network (demo)"),
                _org("Voices of Experience London"),
                _org("London Mental Health Clinical Network (demo)"),
            ],
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2029, 3, 31),
            visibility=PlanVisibility.PUBLIC,
        )
        owners = [
            *icbs,
            _org("Northbank Mental Health NHS Foundation Trust"),
            _org("Southriver Mental Health NHS Foundation Trust"),
            _org("London Public Health Network (demo)"),
            _org("Metropolitan Police mental-health liaison (demo)"),
            _org("Institute of Psychiatry Research Unit (demo)"),
        ]
        actions = _spread_actions(
            plan, priya, ACTIONS, owners, [priya, tom, ade, clinician, academic], evidence, rng, today
        )
        services.plan_change_status(
            actor=priya, plan=plan, expected_version=plan.version, status=PlanStatus.CONSULTATION
        )
        # The activation gate (issue 23): the partners signed on paper, so the manager records why
        # none has signed on the portal before the plan becomes active.
        from actionplan.commitments import demo as commitments_demo
        from actionplan.commitments import services as commitments_services

        for partner in [plan.lead_organisation, *plan.partners.all()]:
            commitments_services.sign_off_waive(
                actor=priya, plan=plan, organisation=partner, reason=commitments_demo.PAN_LONDON_REASON
            )
        services.plan_change_status(actor=priya, plan=plan, expected_version=plan.version, status=PlanStatus.ACTIVE)
        # Some history: a colleague updates progress, then a quarterly review moves several at once.
        services.plan_set_grant(actor=priya, plan=plan, level="change_plan", user=ade)
        for action in actions[:6]:
            services.action_set_progress(
                actor=ade,
                action=action,
                expected_version=action.version,
                progress=min(action.progress + 10, 100) if action.status != ActionStatus.DONE else None,
            )
        with pghistory.context(user=priya.pk, note="quarterly review"):
            Action.objects.filter(pk__in=[a.pk for a in actions[40:43]], status=ActionStatus.NOT_STARTED).update(
                status=ActionStatus.ON_TRACK, progress=5
            )
        created += 1

    if not Plan.objects.filter(title=NCL_TITLE).exists():
        plan = services.plan_create(
            actor=priya,
            title=NCL_TITLE,
            summary="How Barnet, Camden, Enfield, Haringey and Islington will improve crisis and community care.",
            scope="sub_region",
            areas=[Area.objects.get(short_code="NCL")],
            lead_organisation=_org("NHS North Central London Integrated Care Board"),
            partners=[
                _org("Camden Council"),
                _org("Northbank Mental Health NHS Foundation Trust"),
                _org("Mind in North London (demo)"),
            ],
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2028, 3, 31),
        )
        titles = {
            2: [("Step-down beds in supported housing agreed by councils and the trust", ["life-chances"])],
            3: [("Co-produce the crisis pathway with service users", ["crisis-care", "fairness-voice"])],
            4: [("Alliance contract for community hubs in Haringey and Enfield", ["severe-mental-illness"])],
            6: [
                ("Crisis café in every NCL borough", ["crisis-care"]),
                ("Crisis line integrated with NHS 111", ["crisis-care"]),
            ],
        }
        owners = [
            _org("NHS North Central London Integrated Care Board"),
            _org("Northbank Mental Health NHS Foundation Trust"),
            _org("Mind in North London (demo)"),
        ]
        _spread_actions(plan, priya, titles, owners, [priya, clinician], evidence, rng, today)
        services.plan_change_status(
            actor=priya, plan=plan, expected_version=plan.version, status=PlanStatus.CONSULTATION
        )
        created += 1

    if not Plan.objects.filter(title=SEL_TITLE).exists():
        plan = services.plan_create(
            actor=ade,
            title=SEL_TITLE,
            summary="A partners-only working plan for children and young people's mental health in south east London.",
            scope="sub_region",
            areas=[Area.objects.get(short_code="SEL")],
            lead_organisation=_org("NHS South East London Integrated Care Board"),
            partners=[
                _org("Southriver Mental Health NHS Foundation Trust"),
                _org("Young Minds Matter Forum (demo)"),
                _org("Lambeth Council"),
            ],
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2027, 12, 31),
            visibility=PlanVisibility.PARTNERS,
            status=PlanStatus.ACTIVE,
        )
        titles = {
            1: [
                ("Mental health support teams in every SEL secondary school", ["children-young-people"]),
                ("18-25 transition service commissioned by the NHS and councils", ["children-young-people"]),
            ],
            3: [("Young people's advisory panel on every service change", ["children-young-people", "fairness-voice"])],
            5: [("Perinatal wellbeing outreach in Lambeth", ["children-young-people", "prevention"])],
            7: [("Outcome tracking for online self-referral by young people", ["early-help", "children-young-people"])],
        }
        owners = [_org("Southriver Mental Health NHS Foundation Trust"), _org("Lambeth Council")]
        _spread_actions(plan, ade, titles, owners, [ade], evidence, rng, today)
        created += 1

    if not Plan.objects.filter(title=CAMDEN_TITLE).exists():
        plan = services.plan_create(
            actor=tom,
            title=CAMDEN_TITLE,
            summary="A draft borough plan linking mental health and housing in Camden.",
            scope="boroughs",
            areas=[Area.objects.get(short_code="CMD")],
            lead_organisation=_org("Camden Council"),
            partners=[_org("Islington Talking Therapies Partnership")],
            period_start=dt.date(2026, 10, 1),
            period_end=dt.date(2028, 9, 30),
        )
        titles = {
            1: [("Talking therapies commissioned in housing offices", ["early-help"])],
            2: [
                ("Housing first for people leaving hospital", ["life-chances"]),
                ("Tenancy sustainment workers in community teams", ["life-chances"]),
            ],
            5: [("Wellbeing hubs on three estates", ["prevention"])],
        }
        _spread_actions(plan, tom, titles, [_org("Camden Council")], [tom], evidence, rng, today)
        created += 1
    return created
