"""Exact query counts for the directory and place pages, at two data sizes so an N+1 cannot hide."""

from __future__ import annotations

import pytest

from stakeholders import services
from stakeholders.models import Area, Role
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

# Signed-in pages add: the session, the user, the header's data links (outcomes nav_flags),
# the header's unread-notification count, and the session's idle expiry pushed forward
# (SAVEPOINT, UPDATE, RELEASE).
SIGNED_IN_OVERHEAD = 7


@pytest.fixture(params=[5, 40], ids=["5-organisations", "40-organisations"])
def directory(request, db):
    """`n` organisations, each serving three boroughs and with two members."""
    n = request.param
    boroughs = list(Area.objects.boroughs().order_by("code"))
    organisations = []
    for i in range(n):
        organisation = OrganisationFactory(boroughs=[boroughs[(i + k) % len(boroughs)] for k in range(3)])
        MembershipFactory.create_batch(2, organisation=organisation)
        organisations.append(organisation)
    return organisations


def test_the_directory_page_runs_three_queries(client, directory, django_assert_num_queries):
    # 1 the borough filter's choices, 2 COUNT for the pager, 3 the page of organisations
    # with their borough counts (one aggregate, not one query per row).
    with django_assert_num_queries(3):
        response = client.get("/organisations/")
    assert response.status_code == 200


def test_the_filtered_directory_page_runs_three_queries(client, directory, django_assert_num_queries):
    with django_assert_num_queries(3):
        response = client.get("/organisations/", {"borough": "E09000007", "type": "nhs_mh_provider", "q": "org"})
    assert response.status_code == 200


def test_the_borough_list_runs_one_query(client, directory, django_assert_num_queries):
    # 1 the 33 boroughs joined to their sub-region.
    with django_assert_num_queries(1):
        response = client.get("/areas/")
    assert response.status_code == 200


def test_a_borough_page_runs_three_queries(client, directory, django_assert_num_queries):
    # 1 the area joined to its parent, 2 the organisations serving it, 3 its child areas.
    camden = Area.objects.get(code="E09000007")
    assert camden.organisations.exists()
    with django_assert_num_queries(3):
        response = client.get("/areas/E09000007/")
    assert response.status_code == 200


def test_the_london_page_runs_three_queries(client, directory, django_assert_num_queries):
    with django_assert_num_queries(3):
        response = client.get("/areas/E12000007/")
    assert response.status_code == 200


def test_an_organisation_page_runs_two_queries_for_a_visitor(client, directory, django_assert_num_queries):
    # 1 the organisation, 2 its boroughs.
    organisation = directory[-1]
    with django_assert_num_queries(2):
        response = client.get(f"/organisations/{organisation.slug}/")
    assert response.status_code == 200


@pytest.mark.parametrize("members", [3, 30])
def test_an_organisation_page_runs_four_queries_more_for_a_member(
    client_for, directory, members, django_assert_num_queries
):
    # 1 the organisation, 2 its boroughs, 3 my roles (may I see members? manage?),
    # 4 the members with their users; plus the signed-in overhead.
    organisation = directory[-1]
    member = MembershipFactory(organisation=organisation, role=Role.ORG_ADMIN).user
    MembershipFactory.create_batch(members, organisation=organisation)
    client = client_for(member)
    with django_assert_num_queries(4 + SIGNED_IN_OVERHEAD):
        response = client.get(f"/organisations/{organisation.slug}/")
    assert response.status_code == 200
    assert "Manage members" in response.text


@pytest.mark.parametrize("members", [3, 30])
def test_the_members_page_runs_a_fixed_number_of_queries(client_for, directory, members, django_assert_num_queries):
    # 1 the organisation, 2 my roles, 3 the members with their users, 4 pending invitations
    # with who invited; plus the signed-in overhead.
    organisation = directory[-1]
    admin = MembershipFactory(organisation=organisation, role=Role.ORG_ADMIN).user
    MembershipFactory.create_batch(members, organisation=organisation)
    for i in range(members // 3):
        services.invitation_create(
            actor=admin, organisation=organisation, email=f"invitee{i}@example.org", role=Role.CLINICIAN
        )
    client = client_for(admin)
    with django_assert_num_queries(4 + SIGNED_IN_OVERHEAD):
        response = client.get(f"/organisations/{organisation.slug}/members/")
    assert response.status_code == 200
    assert f"invitee{members // 3 - 1}@example.org" in response.text
