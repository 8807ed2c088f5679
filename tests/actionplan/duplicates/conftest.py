"""Plans and actions that look like the same work, for the duplicates tests.

Casey (the standard commissioner) manages two active public plans that both cover Camden:
the NCL sub-region plan and the Camden borough plan, each with a crisis café action. A
Lambeth plan covers no borough they do. Olly (outsider) manages a plan of his own.
"""

from __future__ import annotations

import pytest

from actionplan.models import PlanStatus, PlanVisibility
from outcomes.models import PriorityArea
from stakeholders.models import Area


@pytest.fixture
def crisis(db):
    return PriorityArea.objects.get(slug="crisis-care")


@pytest.fixture
def housing(db):
    return PriorityArea.objects.get(slug="life-chances")


@pytest.fixture
def ncl_plan(make_plan):
    return make_plan(
        title="NCL crisis and community plan", scope="sub_region", areas=[Area.objects.get(short_code="NCL")]
    )


@pytest.fixture
def camden_plan(make_plan):
    return make_plan(title="Camden mental health plan", scope="boroughs", areas=[Area.objects.get(short_code="CMD")])


@pytest.fixture
def lambeth_plan(make_plan):
    return make_plan(title="Lambeth wellbeing plan", scope="boroughs", areas=[Area.objects.get(short_code="LAM")])


@pytest.fixture
def cafe_ncl(make_action, ncl_plan, crisis):
    return make_action(
        ncl_plan,
        step=6,
        title="Open an evening crisis café in every NCL borough",
        description="A safe place to go in the evening instead of A&E, run with peer workers.",
        priority_areas=[crisis],
    )


@pytest.fixture
def cafe_camden(make_action, camden_plan, crisis):
    return make_action(
        camden_plan,
        step=6,
        title="Open an evening crisis café in Camden",
        description="A calm evening space for people in crisis, staffed by peer workers, as an alternative to A&E.",
        priority_areas=[crisis],
    )


@pytest.fixture
def other_manager_plan(make_plan, outsider, other_org):
    """A plan Olly (outsider) manages, public and active, pan-London."""
    return make_plan(title="Olly's pan-London plan", actor=outsider, lead_organisation=other_org)


@pytest.fixture
def private_plan(make_plan, outsider, other_org):
    return make_plan(
        title="Olly's partners-only plan",
        actor=outsider,
        lead_organisation=other_org,
        visibility=PlanVisibility.PARTNERS,
        status=PlanStatus.ACTIVE,
    )
