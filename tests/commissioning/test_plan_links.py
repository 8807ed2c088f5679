"""Partnerships link action plans; decisions link actions of those plans. Private plans stay private."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError

from actionplan import services as plan_services
from actionplan.models import KeyStep, PlanStatus, PlanVisibility
from commissioning import services
from commissioning.decisions import services as decision_services
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


def _agreed(partnership, owner, actions):
    decision = decision_services.decision_propose(actor=None, partnership=partnership, title="Fund it", text="Fund it.")
    return decision_services.decision_record_outcome(
        actor=None, decision=decision, expected_version=1, status="agreed", owner=owner, actions=actions
    )


def test_a_decision_links_only_actions_of_linked_plans(partnership, commissioning_org, action, commissioner):
    decision = _agreed(partnership, commissioning_org, [action])
    assert list(decision.actions.all()) == [action]
    partnership.plans.remove(action.plan)
    with pytest.raises(ValidationError, match="linked plans"):
        _agreed(partnership, commissioning_org, [action])


def test_visitors_see_only_the_plans_and_actions_they_may_read(
    client_for, partnership, action, plans, commissioner, commissioning_org
):
    hidden = plan_services.action_create(
        actor=commissioner,
        plan=plans[1],
        key_step=KeyStep.objects.order_by("number").first(),
        title="Private action",
        owner_organisation=commissioning_org,
    )
    decision = _agreed(partnership, commissioning_org, [action, hidden])
    page = client_for(None).get(partnership.get_absolute_url()).content.decode()
    assert "Crisis plan" in page
    assert "Workforce plan (private)" not in page
    page = client_for(None).get(decision.get_absolute_url()).content.decode()
    assert "Open a crisis cafe" in page and "Private action" not in page
    assert client_for(None).get(f"/api/v1/partnership-decisions/{decision.pk}/").json()["actions"] == [action.pk]
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


def test_decisions_by_api_carry_the_linked_actions(client_for, partnership, action, commissioner, commissioning_org):
    client = client_for(commissioner)
    body = {"partnership": partnership.slug, "title": "Fund it", "text": "Fund it."}
    response = client.post("/api/v1/partnership-decisions/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    url = f"/api/v1/partnership-decisions/{response.json()['id']}/"
    outcome = {"status": "agreed", "owner": commissioning_org.slug, "actions": [action.pk]}
    response = client.patch(url, outcome, content_type="application/json", headers={"If-Match": response["ETag"]})
    assert response.status_code == 200, response.content
    assert response.json()["actions"] == [action.pk]


def test_the_outcome_form_offers_actions_of_linked_plans(
    client_for, partnership, action, commissioner, commissioning_org
):
    decision = decision_services.decision_propose(actor=None, partnership=partnership, title="Fund it", text="Fund it.")
    url = f"/commissioning/partnerships/{partnership.slug}/decisions/{decision.pk}/outcome/"
    page = client_for(commissioner).get(url).content.decode()
    assert "Crisis plan: Open a crisis cafe" in page
    response = client_for(commissioner).post(
        url, {"status": "agreed", "owner": commissioning_org.pk, "actions": [action.pk], "version": 1}
    )
    assert response.status_code == 302, response.content.decode()
    assert list(decision.actions.all()) == [action]


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
    decision = decision_services.decision_propose(actor=None, partnership=partnership, title="Fund it", text="Fund it.")
    url = f"/api/v1/partnership-decisions/{decision.pk}/"

    def refused(action_id: int) -> str:
        body = {"status": "agreed", "owner": commissioning_org.slug, "actions": [action_id]}
        response = client_for(member).patch(url, body, content_type="application/json", headers={"If-Match": '"v1"'})
        return assert_problem(response, 400)["errors"][0]["message"].replace(str(action_id), "ID")

    assert refused(hidden.pk) == refused(999_999)


def test_a_proposal_by_a_non_member_is_403_before_its_body_is_validated(client_for, partnership, outsider):
    body = {"partnership": partnership.slug, "title": "", "meeting": 999_999, "deadline": "nope"}
    response = client_for(outsider).post("/api/v1/partnership-decisions/", body, content_type="application/json")
    assert_problem(response, 403)
