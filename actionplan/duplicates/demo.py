"""Demo duplicated work (synthetic): two plans that each planned the same things, and what managers decided.

A small Islington borough plan, led like the NCL plan by the NCL ICB and managed by Priya,
repeats work the NCL sub-region plan already has (Islington is in NCL):

- a crisis café: left as a candidate pair for Priya, who manages both plans, to merge;
- peer support workers in crisis teams: merged by Priya into the NCL action, now shared;
- a weekend crisis line for young people, dismissed against NCL's all-age line: different work;

and a tenancy sustainment action added to the NCL plan matches one in Camden's draft plan,
a pair Tom (Camden's manager) sees and can propose merging. Seeded idempotently after the
plans demo.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from actionplan import services as plan_services
from actionplan.demo import NCL_TITLE, _org, _user
from actionplan.duplicates import services
from actionplan.duplicates.models import DismissedPair, MergeRecord
from actionplan.models import Action, KeyStep, Plan, PlanStatus
from outcomes.models import PriorityArea
from stakeholders.models import Area

ISLINGTON_TITLE = "Islington crisis and wellbeing plan (demo)"

NCL_EXTRA = [
    (
        3,
        "Peer support workers in every NCL crisis team",
        "Recruit and train people with lived experience of crisis to work in each of the five borough crisis teams.",
        ["crisis-care", "fairness-voice"],
    ),
    (
        2,
        "Tenancy sustainment workers in NCL community mental health teams",
        "Housing workers based in community teams help people keep their homes when they become unwell.",
        ["life-chances"],
    ),
]
ISLINGTON_ACTIONS = [
    (
        6,
        "Crisis café in every Islington neighbourhood",
        "A calm place to go in a crisis instead of A&E, run by a local charity with peer workers.",
        ["crisis-care"],
    ),
    (
        3,
        "Peer support workers in Islington crisis teams",
        "People with lived experience of crisis join the Islington crisis team as paid peer workers.",
        ["crisis-care", "fairness-voice"],
    ),
    (
        6,
        "Weekend crisis line for Islington young people",
        "A text and phone line for under-25s on Friday to Sunday nights, answered by youth workers.",
        ["crisis-care", "children-young-people"],
    ),
]


def _add(plan: Plan, actor, owner, spec) -> Action:  # type: ignore[no-untyped-def]
    step, title, description, areas = spec
    found = Action.objects.filter(plan=plan, title=title).first()
    if found is not None:
        return found
    return plan_services.action_create(
        actor=actor,
        plan=plan,
        key_step=KeyStep.objects.get(number=step),
        title=title,
        description=description,
        owner_organisation=owner,
        priority_areas=PriorityArea.objects.filter(slug__in=areas),
        start_date=dt.date(2026, 6, 1),
        due_date=dt.date(2027, 9, 30),
    )


@transaction.atomic
def seed() -> None:
    """The Islington plan, its duplicate actions, one merge and one dismissal (idempotent)."""
    ncl = Plan.objects.filter(title=NCL_TITLE).first()
    if ncl is None:
        return
    priya = _user("commissioner")
    icb = _org("NHS North Central London Integrated Care Board")
    islington = Plan.objects.filter(title=ISLINGTON_TITLE).first()
    if islington is None:
        islington = plan_services.plan_create(
            actor=priya,
            title=ISLINGTON_TITLE,
            summary="Synthetic demo plan: crisis and wellbeing work for Islington, some of it already in the NCL plan.",
            scope="boroughs",
            areas=[Area.objects.get(short_code="ISL")],
            lead_organisation=icb,
            partners=[_org("Islington Talking Therapies Partnership"), _org("Mind in North London (demo)")],
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2028, 3, 31),
            status=PlanStatus.ACTIVE,
        )
    mind = _org("Mind in North London (demo)")
    # The NCL tenancy action pairs with Camden's draft "Tenancy sustainment workers in community teams".
    peer_ncl, _tenancy = (_add(ncl, priya, icb, spec) for spec in NCL_EXTRA)
    _cafe, peer_isl, youth_line = (_add(islington, priya, mind, spec) for spec in ISLINGTON_ACTIONS)
    if not peer_isl.milestones.exists():
        plan_services.milestone_create(
            actor=priya, action=peer_isl, title="First peer workers in post", due=dt.date(2026, 11, 30)
        )
    if not MergeRecord.objects.filter(retired=peer_isl).exists():
        services.pair_merge(
            actor=priya,
            kept=peer_ncl,
            retired=peer_isl,
            reason="Islington's peer workers are part of the NCL programme: one action, "
            "with Mind accountable for Islington's share.",
        )
    line = Action.objects.filter(plan=ncl, title="Crisis line integrated with NHS 111").first()
    if line is not None:
        a, b = sorted((line, youth_line), key=lambda x: x.pk)
        if not DismissedPair.objects.filter(action_a=a, action_b=b).exists():
            services.pair_dismiss(
                actor=priya,
                a=a,
                b=b,
                reason="Different work: NCL's line is all-age through NHS 111; Islington's is a weekend youth line.",
            )
