"""/api/v1/memberships/: only memberships of my organisations; their admins change roles."""

from __future__ import annotations

import pytest

from stakeholders.models import Membership, Role
from tests.api.helpers import assert_problem, field_errors
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def theirs(outsider, other_org):
    return Membership.objects.get(user=outsider, organisation=other_org)


@pytest.fixture
def commissioner_membership(commissioner, commissioning_org):
    return Membership.objects.get(user=commissioner, organisation=commissioning_org)


def test_i_see_only_memberships_of_my_organisations(
    client_for, commissioner, org_admin, provider, outsider, commissioning_org
):
    body = client_for(commissioner).get("/api/v1/memberships/").json()
    assert body["count"] == 2
    assert {m["user"]["email"] for m in body["results"]} == {commissioner.email, org_admin.email}
    assert {m["organisation"] for m in body["results"]} == {commissioning_org.slug}
    first = body["results"][0]
    assert set(first) == {"id", "user", "organisation", "role", "job_title", "created_at"}
    assert set(first["user"]) == {"display_name", "email"}


def test_someone_without_an_organisation_sees_no_memberships(client_for, service_user, commissioner):
    assert client_for(service_user).get("/api/v1/memberships/").json()["count"] == 0


def test_staff_see_every_membership(client_for, staff, commissioner, provider, outsider):
    assert client_for(staff).get("/api/v1/memberships/").json()["count"] == 3


def test_memberships_filter_by_organisation_and_role(client_for, staff, commissioner, org_admin, commissioning_org):
    client = client_for(staff)
    body = client.get("/api/v1/memberships/", {"organisation": commissioning_org.slug, "role": "org_admin"}).json()
    assert [m["user"]["email"] for m in body["results"]] == [org_admin.email]


def test_a_membership_of_another_organisation_is_not_found(client_for, org_admin, theirs):
    client = client_for(org_admin)
    assert_problem(client.get(f"/api/v1/memberships/{theirs.pk}/"), 404)
    assert_problem(client.patch(f"/api/v1/memberships/{theirs.pk}/", {"role": "academic"}, content_type=JSON), 404)
    assert_problem(client.delete(f"/api/v1/memberships/{theirs.pk}/"), 404)
    theirs.refresh_from_db()
    assert theirs.role == Role.COMMISSIONER


def test_an_org_admin_changes_a_role(client_for, org_admin, commissioner_membership):
    response = client_for(org_admin).patch(
        f"/api/v1/memberships/{commissioner_membership.pk}/", {"role": "moderator"}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "moderator"
    commissioner_membership.refresh_from_db()
    assert commissioner_membership.role == Role.MODERATOR


def test_a_plain_member_may_see_but_not_change_a_role(client_for, commissioner, org_admin, commissioning_org):
    admins = Membership.objects.get(user=org_admin, organisation=commissioning_org)
    client = client_for(commissioner)
    assert client.get(f"/api/v1/memberships/{admins.pk}/").status_code == 200
    assert_problem(client.patch(f"/api/v1/memberships/{admins.pk}/", {"role": "clinician"}, content_type=JSON), 403)
    assert_problem(client.delete(f"/api/v1/memberships/{admins.pk}/"), 403)
    admins.refresh_from_db()
    assert admins.role == Role.ORG_ADMIN


def test_demoting_the_last_admin_is_a_validation_problem(client_for, org_admin, commissioning_org):
    own = Membership.objects.get(user=org_admin, organisation=commissioning_org)
    response = client_for(org_admin).patch(f"/api/v1/memberships/{own.pk}/", {"role": "clinician"}, content_type=JSON)
    body = assert_problem(response, 400)
    assert None in field_errors(body)
    assert "at least one admin" in body["errors"][0]["message"]


def test_an_unknown_role_is_a_field_error(client_for, org_admin, commissioner_membership):
    response = client_for(org_admin).patch(
        f"/api/v1/memberships/{commissioner_membership.pk}/", {"role": "overlord"}, content_type=JSON
    )
    assert field_errors(assert_problem(response, 400)) == {"role": ["invalid_choice"]}


def test_an_org_admin_removes_a_member(client_for, org_admin, commissioner, commissioning_org, commissioner_membership):
    assert client_for(org_admin).delete(f"/api/v1/memberships/{commissioner_membership.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=commissioner_membership.pk).exists()
    assert commissioning_org.group not in commissioner.groups.all()


def test_removing_the_last_admin_is_a_validation_problem(client_for, org_admin, commissioning_org):
    own = Membership.objects.get(user=org_admin, organisation=commissioning_org)
    assert_problem(client_for(org_admin).delete(f"/api/v1/memberships/{own.pk}/"), 400)
    assert Membership.objects.filter(pk=own.pk).exists()


def test_a_second_admin_lets_the_first_step_down(client_for, org_admin, commissioning_org):
    MembershipFactory(organisation=commissioning_org, role=Role.ORG_ADMIN)
    own = Membership.objects.get(user=org_admin, organisation=commissioning_org)
    response = client_for(org_admin).patch(f"/api/v1/memberships/{own.pk}/", {"role": "clinician"}, content_type=JSON)
    assert response.status_code == 200


def test_memberships_need_authentication(client, commissioner_membership):
    assert_problem(client.get("/api/v1/memberships/"), 401)
    assert_problem(client.get(f"/api/v1/memberships/{commissioner_membership.pk}/"), 401)


def test_memberships_cannot_be_created_through_the_api(client_for, org_admin):
    response = client_for(org_admin).post("/api/v1/memberships/", {"role": "clinician"}, content_type=JSON)
    assert_problem(response, 405)
