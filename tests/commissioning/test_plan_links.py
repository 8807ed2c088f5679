"""Partnerships link action plans; decisions link an action of one of those plans. Private plans stay private."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError

from actionplan import services as plan_services
from actionplan.models import KeyStep, PlanStatus, PlanVisibility
from commissioning import services
from commissioning.models import PartnershipScope
from stakeholders.models import OrganisationType, Role
from tests.api.helpers import assert_problem
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans(commissioner, commissioning_org):
    def make(title, visibility):
        return plan_services.plan_create(
            actor=commissioner,
            title=title,
            lead_organisation=commissioning_org,
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2029, 3, 31),
            status=PlanStatus.ACTIVE,
            visibility=visibility,
        )

    return make("Crisis plan", PlanVisibility.PUBLIC), make("Workforce plan (private)", PlanVisibility.PARTNERS)


@pytest.fixture
def action(plans, commissioner, commissioning_org):
    return plan_services.action_create(
        actor=commissioner,
        plan=plans[0],
        key_step=KeyStep.objects.order_by("number").first(),
        title="Open a crisis cafe",
        owner_organisation=commissioning_org,
    )


@pytest.fixture
def partnership(commissioning_org, plans):
    return services.partnership_create(
        actor=None, name="Linked", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org, plans=plans
    )


def test_a_decision_links_only_an_action_of_a_linked_plan(partnership, commissioning_org, action, commissioner):
    meeting = services.meeting_create(actor=None, partnership=partnership, date=dt.date(2026, 5, 1), title="Board")
    decision = services.decision_create(
        actor=None, meeting=meeting, decision="Fund it", owner=commissioning_org, action=action
    )
    assert decision.action == action
    partnership.plans.remove(action.plan)
    with pytest.raises(ValidationError, match="linked plans"):
        services.decision_create(actor=None, meeting=meeting, decision="Again", owner=commissioning_org, action=action)


def test_visitors_see_only_the_plans_they_may_read(client_for, partnership, action, commissioning_org):
    meeting = services.meeting_create(actor=None, partnership=partnership, date=dt.date(2026, 5, 1), title="Board")
    services.decision_create(actor=None, meeting=meeting, decision="Fund it", owner=commissioning_org, action=action)
    page = client_for(None).get(partnership.get_absolute_url()).content.decode()
    assert "Crisis plan" in page and "Open a crisis cafe" in page
    assert "Workforce plan (private)" not in page
    body = client_for(None).get(f"/api/v1/partnerships/{partnership.slug}/").json()
    assert body["plans"] == [partnership.plans.get(title="Crisis plan").slug]


def test_a_member_saving_the_partnership_keeps_plans_they_cannot_see(
    client_for, partnership, plans, commissioning_org, outsider, other_org
):
    # A second member, who cannot read the private plan, edits the partnership by API.
    council = OrganisationFactory(type=OrganisationType.LA_COMMISSIONER)
    member = MembershipFactory(organisation=council, role=Role.COMMISSIONER).user
    partnership.members.create(organisation=council, role="member")
    client = client_for(member)
    response = client.patch(
        f"/api/v1/partnerships/{partnership.slug}/",
        json.dumps({"plans": [plans[0].slug]}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert set(partnership.plans.all()) == set(plans)
    problem = assert_problem(
        client.patch(
            f"/api/v1/partnerships/{partnership.slug}/",
            json.dumps({"plans": [plans[1].slug]}),
            content_type="application/json",
        ),
        400,
    )
    assert problem["errors"][0]["field"] == "plans"


def test_decisions_by_api_carry_the_linked_action(client_for, partnership, action, commissioner, commissioning_org):
    meeting = services.meeting_create(actor=None, partnership=partnership, date=dt.date(2026, 5, 1), title="Board")
    response = client_for(commissioner).post(
        "/api/v1/partnership-decisions/",
        {"meeting": meeting.pk, "decision": "Fund it", "owner": commissioning_org.slug, "action": action.pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["action"] == action.pk


def test_the_decision_form_offers_actions_of_linked_plans(
    client_for, partnership, action, commissioner, commissioning_org
):
    meeting = services.meeting_create(actor=None, partnership=partnership, date=dt.date(2026, 5, 1), title="Board")
    url = f"/commissioning/partnerships/{partnership.slug}/meetings/{meeting.pk}/decisions/new/"
    page = client_for(commissioner).get(url).content.decode()
    assert "Crisis plan: Open a crisis cafe" in page
    response = client_for(commissioner).post(
        url, {"decision": "Fund it", "owner": commissioning_org.pk, "action": action.pk}
    )
    assert response.status_code == 302
    assert meeting.decisions.get().action == action


def _member_who_cannot_read_the_private_plan(partnership):
    council = OrganisationFactory(type=OrganisationType.LA_COMMISSIONER)
    partnership.members.create(organisation=council, role="member")
    return MembershipFactory(organisation=council, role=Role.COMMISSIONER).user


def test_linking_a_hidden_plan_answers_as_for_a_missing_one(client_for, partnership, plans):
    client = client_for(_member_who_cannot_read_the_private_plan(partnership))
    url = f"/api/v1/partnerships/{partnership.slug}/"

    def refused(slug: str) -> str:
        body = json.dumps({"plans": [slug]})
        problem = assert_problem(client.patch(url, body, content_type="application/json"), 400)
        return problem["errors"][0]["message"].replace(slug, "SLUG")

    assert refused(plans[1].slug) == refused("no-such-plan-at-all")


def test_linking_a_hidden_action_to_a_decision_answers_as_for_a_missing_one(
    client_for, partnership, plans, commissioner, commissioning_org
):
    hidden = plan_services.action_create(
        actor=commissioner,
        plan=plans[1],
        key_step=KeyStep.objects.order_by("number").first(),
        title="Private action",
        owner_organisation=commissioning_org,
    )
    member = _member_who_cannot_read_the_private_plan(partnership)
    meeting = services.meeting_create(actor=None, partnership=partnership, date=dt.date(2026, 5, 1), title="Board")

    def refused(action_id: int) -> str:
        body = {"meeting": meeting.pk, "decision": "Fund it", "owner": commissioning_org.slug, "action": action_id}
        response = client_for(member).post("/api/v1/partnership-decisions/", body, content_type="application/json")
        return assert_problem(response, 400)["errors"][0]["message"].replace(str(action_id), "ID")

    assert refused(hidden.pk) == refused(999_999)


def test_a_decision_by_a_non_member_is_403_before_its_body_is_validated(client_for, partnership, outsider):
    meeting = services.meeting_create(actor=None, partnership=partnership, date=dt.date(2026, 5, 1), title="Board")
    body = {"meeting": meeting.pk, "decision": "", "owner": "nope", "action": 999_999}
    response = client_for(outsider).post("/api/v1/partnership-decisions/", body, content_type="application/json")
    assert_problem(response, 403)
