"""The plans API: filters, visibility (404), write permissions (403), ETag and If-Match (412, 428)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from actionplan import services
from actionplan.models import Action, Milestone, Plan, PlanStatus
from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db


def _patch(client, url, body, etag=None):
    headers = {"HTTP_IF_MATCH": etag} if etag else {}
    return client.patch(url, json.dumps(body), content_type="application/json", **headers)


def _post(client, url, body, etag=None):
    headers = {"HTTP_IF_MATCH": etag} if etag else {}
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def action(public_plan, make_action):
    return make_action(public_plan, step=4, title="Crisis café", due_date=dt.date(2020, 1, 1))


def test_anyone_lists_public_plans_and_key_steps(client_for, public_plan, partners_plan, draft_plan):
    client = client_for(None)
    body = client.get("/api/v1/plans/").json()
    assert [p["slug"] for p in body["results"]] == [public_plan.slug]
    steps = client.get("/api/v1/key-steps/").json()
    assert [s["number"] for s in steps] == list(range(1, 10))


def test_a_plan_carries_its_version_as_etag(client_for, public_plan):
    response = client_for(None).get(f"/api/v1/plans/{public_plan.slug}/")
    assert response["ETag"] == '"v1"'
    assert response.json()["version"] == 1


def test_a_stranger_gets_404_for_a_partners_only_plan_and_its_actions(client_for, partners_plan, make_action, outsider):
    action = make_action(partners_plan)
    for who in (None, outsider):
        client = client_for(who)
        assert_problem(client.get(f"/api/v1/plans/{partners_plan.slug}/"), 404)
        assert_problem(client.get(f"/api/v1/actions/{action.pk}/"), 404)
        assert_problem(client.get(f"/api/v1/plans/{partners_plan.slug}/history/"), 404)
        assert client.get("/api/v1/actions/").json()["count"] == 0
    assert_problem(_patch(client_for(outsider), f"/api/v1/actions/{action.pk}/", {"progress": 5}, '"v1"'), 404)


def test_a_reader_writing_gets_403_and_anonymous_401(client_for, public_plan, action, outsider, provider):
    url = f"/api/v1/actions/{action.pk}/"
    assert_problem(_patch(client_for(outsider), url, {"progress": 50}, '"v1"'), 403)
    assert_problem(_patch(client_for(None), url, {"progress": 50}, '"v1"'), 401)
    assert_problem(
        _post(client_for(outsider), f"/api/v1/plans/{public_plan.slug}/status/", {"status": "closed"}, '"v1"'), 403
    )
    # Only commissioners start plans (the outsider is one, in another organisation; the provider is not).
    assert_problem(_post(client_for(provider), "/api/v1/plans/", {"title": "x"}), 403)
    action.refresh_from_db()
    assert action.progress == 0


def test_writes_need_if_match_and_refuse_a_stale_one(client_for, public_plan, action, commissioner):
    client = client_for(commissioner)
    url = f"/api/v1/actions/{action.pk}/"
    body = assert_problem(_patch(client, url, {"progress": 50}), 428)
    assert "If-Match" in body["detail"]
    assert_problem(_patch(client, url, {"progress": 50}, "garbage"), 412)
    ok = _patch(client, url, {"progress": 50, "status": "on_track"}, '"v1"')
    assert ok.status_code == 200
    assert ok["ETag"] == '"v2"'
    stale = assert_problem(_patch(client, url, {"progress": 70}, '"v1"'), 412)
    assert '"v2"' in stale["detail"]
    action.refresh_from_db()
    assert (action.progress, action.version) == (50, 2)


def test_plan_status_changes_follow_the_table_through_the_api(client_for, draft_plan, commissioner):
    client = client_for(commissioner)
    url = f"/api/v1/plans/{draft_plan.slug}/status/"
    assert_problem(_post(client, url, {"status": "closed"}), 428)
    bad = assert_problem(_post(client, url, {"status": "closed"}, '"v1"'), 400)
    assert bad["errors"][0]["field"] == "status"
    response = _post(client, url, {"status": "consultation"}, '"v1"')
    assert response.status_code == 200
    assert response.json()["status"] == "consultation"
    assert response["ETag"] == '"v2"'


def test_a_commissioner_creates_a_plan_and_an_action_over_the_api(client_for, commissioner, commissioning_org):
    client = client_for(commissioner)
    response = _post(
        client,
        "/api/v1/plans/",
        {
            "title": "Camden API plan",
            "scope": "boroughs",
            "areas": ["E09000007"],
            "lead_organisation": commissioning_org.slug,
            "period_start": "2026-04-01",
            "period_end": "2027-03-31",
        },
    )
    assert response.status_code == 201, response.content
    slug = response.json()["slug"]
    assert Plan.objects.get(slug=slug).status == PlanStatus.DRAFT
    created = _post(
        client,
        "/api/v1/actions/",
        {
            "plan": slug,
            "key_step": 7,
            "title": "Housing first",
            "owner_organisation": commissioning_org.slug,
            "progress": 10,
            "status": "on_track",
        },
    )
    assert created.status_code == 201, created.content
    assert created["ETag"] == '"v1"'
    assert Action.objects.get(pk=created.json()["id"]).key_step.number == 7


def test_bad_input_is_a_problem_listing_the_fields(client_for, public_plan, action, commissioner):
    client = client_for(commissioner)
    body = assert_problem(_patch(client, f"/api/v1/actions/{action.pk}/", {"progress": 140}, '"v1"'), 400)
    assert body["errors"][0]["field"] == "progress"
    body = assert_problem(
        _post(
            client,
            "/api/v1/plans/",
            {
                "title": "x",
                "scope": "sub_region",
                "areas": [],
                "lead_organisation": public_plan.lead_organisation.slug,
                "period_start": "2026-04-01",
                "period_end": "2027-03-31",
            },
        ),
        400,
    )
    assert body["errors"][0]["field"] == "areas"


def test_actions_filter_by_overdue_key_step_owner_status_and_borough(
    client_for, public_plan, make_action, provider_org, action
):
    make_action(public_plan, step=2, title="Not late", due_date=dt.date(2099, 1, 1), owner_organisation=provider_org)
    client = client_for(None)

    def titles(**params):
        return sorted(a["title"] for a in client.get("/api/v1/actions/", params).json()["results"])

    assert titles(overdue="true") == ["Crisis café"]
    assert titles(overdue="false") == ["Not late"]
    assert titles(key_step=2) == ["Not late"]
    assert titles(owner_organisation=provider_org.slug) == ["Not late"]
    assert titles(status="not_started") == ["Crisis café", "Not late"]
    assert titles(borough="CMD", scope="pan_london") == ["Crisis café", "Not late"]
    assert titles(plan="no-such-plan") == []


def test_milestones_are_written_by_the_plan_team_only(client_for, public_plan, action, commissioner, outsider):
    body = {"action": action.pk, "title": "Go live", "due": "2026-12-01"}
    assert_problem(_post(client_for(outsider), "/api/v1/milestones/", body), 403)
    created = _post(client_for(commissioner), "/api/v1/milestones/", body)
    assert created.status_code == 201, created.content
    milestone = Milestone.objects.get()
    assert_problem(_patch(client_for(outsider), f"/api/v1/milestones/{milestone.pk}/", {"done_on": "2026-11-30"}), 403)
    assert (
        _patch(client_for(commissioner), f"/api/v1/milestones/{milestone.pk}/", {"done_on": "2026-11-30"}).status_code
        == 200
    )


def test_the_history_endpoint_says_who_changed_what(client_for, public_plan, action, commissioner):
    services.action_set_progress(actor=commissioner, action=action, expected_version=1, status="at_risk", progress=20)
    entries = client_for(None).get(f"/api/v1/plans/{public_plan.slug}/history/").json()
    change = next(e for e in entries if e["verb"] == "changed" and e["what"] == "Action")
    assert change["who"] == "Casey Commissioner"
    assert {"label": "Status", "old": "Not started", "new": "At risk"} in change["changes"]
    action_entries = client_for(None).get(f"/api/v1/actions/{action.pk}/history/").json()
    assert action_entries[0]["verb"] == "changed"


def test_evidence_is_searchable_and_says_which_actions_cite_it(
    client_for, public_plan, make_action, commissioner, academic_user
):
    item = services.evidence_create(
        actor=academic_user, title="Crisis cafés evaluated", summary="Fewer emergency attendances.", type="evaluation"
    )
    services.evidence_create(
        actor=academic_user, title="Housing first", summary="Tenancies sustained.", type="case_study"
    )
    cited = make_action(public_plan, title="Open cafés", evidence=[item])
    client = client_for(None)
    found = client.get("/api/v1/evidence/", {"q": "emergency attendance"}).json()["results"]
    assert [e["slug"] for e in found] == [item.slug]
    assert found[0]["cited_by"] == [cited.pk]
    assert_problem(_post(client_for(None), "/api/v1/evidence/", {"title": "x"}), 401)


@pytest.fixture
def academic_user(db):
    from stakeholders.models import Role
    from tests.factories import MembershipFactory

    return MembershipFactory(role=Role.ACADEMIC).user


def test_hidden_plans_and_actions_cannot_be_named_in_a_body(
    client_for, partners_plan, public_plan, make_action, outsider
):
    """A partners-only plan answers exactly like a missing one, so its existence does not leak."""
    hidden = make_action(partners_plan, title="Hidden")
    from actionplan import services as plan_services

    plan_services.plan_set_grant(actor=public_plan.created_by, plan=public_plan, level="change_plan", user=outsider)
    client = client_for(outsider)
    body = {"key_step": 1, "title": "x", "owner_organisation": public_plan.lead_organisation.slug}
    for plan_slug in (partners_plan.slug, "no-such-plan"):
        problem = assert_problem(_post(client, "/api/v1/actions/", {**body, "plan": plan_slug}), 400)
        assert problem["errors"][0]["field"] == "plan"
    problem = assert_problem(
        _post(client, "/api/v1/actions/", {**body, "plan": public_plan.slug, "dependencies": [hidden.pk]}), 400
    )
    assert "Hidden" not in json.dumps(problem)
    assert_problem(_post(client, "/api/v1/milestones/", {"action": hidden.pk, "title": "x"}), 400)


def test_milestones_of_hidden_plans_are_404_and_evidence_needs_a_publishing_role(
    client_for, partners_plan, make_action, outsider, provider
):
    milestone = services.milestone_create(
        actor=partners_plan.created_by, action=make_action(partners_plan), title="Kick-off"
    )
    assert_problem(client_for(outsider).get(f"/api/v1/milestones/{milestone.pk}/"), 404)
    assert_problem(_patch(client_for(outsider), f"/api/v1/milestones/{milestone.pk}/", {"title": "x"}), 404)
    assert_problem(_post(client_for(provider), "/api/v1/evidence/", {"title": "x"}), 403)
