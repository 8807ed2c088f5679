"""Exact query counts for the decisions log, a decision's page, a meeting's page and the API, at two sizes."""

from __future__ import annotations

import datetime as dt

import pytest

from commissioning import services
from commissioning.decisions import services as decisions
from commissioning.models import PartnershipScope
from stakeholders.models import OrganisationType, Role
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[2, 7], ids=["2-members", "7-members"])
def world(request, commissioning_org):
    """`n` member councils (each with a commissioner), `n` decisions at one meeting, each with a
    stance from every member (disagree on the first), every other one agreed with an owner."""
    n = request.param
    councils = [OrganisationFactory(type=OrganisationType.LA_COMMISSIONER) for _ in range(n)]
    people = [MembershipFactory(organisation=c, role=Role.COMMISSIONER).user for c in councils]
    partnership = services.partnership_create(
        actor=None, name="QC decisions", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org, members=councils
    )
    meeting = decisions.meeting_create(
        actor=None, partnership=partnership, date=dt.date(2026, 5, 1), title="Board", attendees=people, minutes="Met."
    )
    made = []
    for i in range(n):
        decision = decisions.decision_propose(
            actor=None, partnership=partnership, meeting=meeting, title=f"Decision {i}", text="x"
        )
        for j, (council, person) in enumerate(zip(councils, people, strict=True)):
            stance = "disagree" if j == 0 else "agree"
            decisions.stance_record(actor=person, decision=decision, organisation=council, stance=stance, reason="r")
        if i % 2:
            decision.refresh_from_db()
            decisions.decision_record_outcome(
                actor=None, decision=decision, expected_version=decision.version, status="agreed", owner=councils[0]
            )
        made.append(decision)
    return partnership, meeting, made


def test_the_decisions_log_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    partnership = world[0]
    # The partnership with its members and their organisations (3), the filter form's owners and
    # meetings (2), the page's count and its rows with owners, meetings and stance tallies (2).
    with django_assert_num_queries(7):
        response = client.get(f"/commissioning/partnerships/{partnership.slug}/decisions/")
    assert response.status_code == 200


def test_a_decision_page_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    decision = world[2][0]
    # The partnership with its members and their organisations (3); the decision (1), then with its
    # tallies, owner, meeting and proposer (1), its stances with organisations and recorders (1) and
    # its actions (1); the members for the table (1); the stance history (1) and the decision's own
    # history (1). (With linked actions, one more: which of their plans the visitor may read.)
    with django_assert_num_queries(10):
        response = client.get(decision.get_absolute_url())
    assert response.status_code == 200
    assert "With dissent" in response.content.decode()


def test_a_meeting_page_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    meeting = world[1]
    # The partnership with its members (3), the meeting (1), then with its partnership (1), its
    # attendees with their memberships and organisations (3) and its decisions with tallies (1).
    with django_assert_num_queries(9):
        response = client.get(meeting.get_absolute_url())
    assert response.status_code == 200


def test_the_decisions_api_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    partnership = world[0]
    # The count and the page with tallies, owner, partnership and proposer (2), the stances with
    # organisations and recorders (1), the partnerships' members and organisations (1), the
    # actions (1) and the plans the visitor may read (1).
    with django_assert_num_queries(6):
        response = client.get("/api/v1/partnership-decisions/", {"partnership": partnership.slug})
    assert response.status_code == 200
