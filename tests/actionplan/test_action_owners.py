"""Action owners do their job: the owner organisation's members and the accountable lead update an
action's status, progress, milestones and a dated progress note, without edit rights on the plan."""

from __future__ import annotations

import json

import pytest

from actionplan.models import ActionStatus, ProgressNote
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(make_plan, make_action, provider_org, provider):
    plan = make_plan()
    action = make_action(plan, owner_organisation=provider_org)
    return plan, action


def _progress(client, plan, action, **extra):
    data = {"version": action.version, "status": ActionStatus.AT_RISK, "progress": 40, "next": "action", **extra}
    return client.post(f"/plans/{plan.slug}/actions/{action.pk}/progress/", data)


def test_a_member_of_the_owner_organisation_updates_status_progress_and_a_note(client_for, owned, provider):
    plan, action = owned
    client = client_for(provider)
    page = client.get(f"/plans/{plan.slug}/actions/{action.pk}/").content.decode()
    assert "Update status and progress" in page and "Edit the action" not in page
    response = _progress(client, plan, action, note="The crisis café lease fell through; looking at two sites.")
    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.status, action.progress) == (ActionStatus.AT_RISK, 40)
    note = ProgressNote.objects.get(action=action)
    assert note.author == provider and note.status == ActionStatus.AT_RISK and note.progress == 40
    page = client.get(f"/plans/{plan.slug}/actions/{action.pk}/").content.decode()
    assert "The crisis café lease fell through" in page and "Pat Provider" in page
    # ... and its milestones, but not the rest of the action.
    assert (
        client.post(f"/plans/{plan.slug}/actions/{action.pk}/milestones/", {"title": "Site visit"}).status_code == 302
    )
    assert action.milestones.filter(title="Site visit").exists()
    assert client.get(f"/plans/{plan.slug}/actions/{action.pk}/edit/").status_code == 403


def test_the_accountable_lead_may_too(client_for, make_plan, make_action, commissioning_org):
    lead = UserFactory(display_name="Lee Lead")
    plan = make_plan()
    action = make_action(plan, lead=lead)
    assert _progress(client_for(lead), plan, action).status_code == 302


def test_someone_else_who_can_read_the_plan_gets_403_and_changes_nothing(client_for, owned, other_org):
    plan, action = owned
    stranger = MembershipFactory(organisation=other_org).user
    assert _progress(client_for(stranger), plan, action, note="No").status_code == 403
    action.refresh_from_db()
    assert action.status == ActionStatus.NOT_STARTED and not ProgressNote.objects.exists()


def test_an_owner_who_cannot_read_the_plan_gets_404(client_for, make_plan, make_action, other_org):
    from actionplan.models import PlanVisibility

    plan = make_plan(title="Partners only", visibility=PlanVisibility.PARTNERS)
    action = make_action(plan, owner_organisation=other_org)
    member = MembershipFactory(organisation=other_org).user
    assert _progress(client_for(member), plan, action).status_code == 404


def test_a_stale_update_from_an_owner_is_refused(client_for, owned, provider):
    plan, action = owned
    client = client_for(provider)
    assert _progress(client, plan, action).status_code == 302
    stale = _progress(client, plan, action, status=ActionStatus.OFF_TRACK)  # the version it read is gone
    assert stale.status_code == 409
    action.refresh_from_db()
    assert action.status == ActionStatus.AT_RISK


# The same through the API ---------------------------------------------------------------


def _api(client, method, url, body=None, etag=None):
    headers = {"HTTP_IF_MATCH": etag} if etag else {}
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", **headers)


def test_an_owner_patches_status_progress_and_a_note_through_the_api(client_for, owned, provider):
    _plan, action = owned
    client = client_for(provider)
    url = f"/api/v1/actions/{action.pk}/"
    etag = client.get(url).headers["ETag"]
    body = {"status": ActionStatus.AT_RISK, "progress": 40, "progress_note": "Lease fell through; two sites left."}
    response = _api(client, "patch", url, body, etag)
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["progress"]) == (ActionStatus.AT_RISK, 40)
    assert data["progress_notes"][0]["text"] == "Lease fell through; two sites left."
    assert data["progress_notes"][0]["author"] == "Pat Provider"
    assert response.headers["ETag"] != etag
    # Milestones too: add, tick off, remove.
    created = _api(client, "post", "/api/v1/milestones/", {"action": action.pk, "title": "Site visit"})
    assert created.status_code == 201, created.content
    milestone_url = f"/api/v1/milestones/{created.json()['id']}/"
    assert _api(client, "patch", milestone_url, {"done_on": "2026-01-05"}).status_code == 200
    assert client.delete(milestone_url).status_code == 204


def test_an_owner_may_not_change_the_rest_of_the_action_or_delete_it(client_for, owned, provider):
    _plan, action = owned
    client = client_for(provider)
    url = f"/api/v1/actions/{action.pk}/"
    etag = client.get(url).headers["ETag"]
    response = _api(client, "patch", url, {"progress": 40, "title": "Renamed"}, etag)
    assert response.status_code == 403
    assert "status, progress and milestones" in response.json()["detail"]
    assert _api(client, "delete", url, etag=etag).status_code == 403
    action.refresh_from_db()
    assert (action.title, action.progress) != ("Renamed", 40)


def test_a_stranger_gets_403_and_an_owner_who_cannot_read_the_plan_404_through_the_api(
    client_for, owned, make_plan, make_action, other_org
):
    from actionplan.models import PlanVisibility

    _plan, action = owned
    stranger = MembershipFactory(organisation=other_org).user
    client = client_for(stranger)
    url = f"/api/v1/actions/{action.pk}/"
    etag = client.get(url).headers["ETag"]
    assert _api(client, "patch", url, {"progress": 10}, etag).status_code == 403
    created = _api(client, "post", "/api/v1/milestones/", {"action": action.pk, "title": "Mine now"})
    assert created.status_code == 403
    hidden = make_action(
        make_plan(title="Partners only", visibility=PlanVisibility.PARTNERS), owner_organisation=other_org
    )
    assert _api(client, "patch", f"/api/v1/actions/{hidden.pk}/", {"progress": 10}, '"1"').status_code == 404
    action.refresh_from_db()
    assert action.progress == 0 and not action.milestones.exists()


def test_a_stale_patch_from_an_owner_is_refused_with_412(client_for, owned, provider):
    _plan, action = owned
    client = client_for(provider)
    url = f"/api/v1/actions/{action.pk}/"
    etag = client.get(url).headers["ETag"]
    assert _api(client, "patch", url, {"progress": 20}, etag).status_code == 200
    assert _api(client, "patch", url, {"progress": 30}, etag).status_code == 412
    action.refresh_from_db()
    assert action.progress == 20
