"""Exact query counts for the list endpoints, at two data sizes so an N+1 cannot hide."""

from __future__ import annotations

import pytest
from django.test import Client

from stakeholders import services
from stakeholders.models import Area, Role
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

# A session-authenticated request adds: 1 the session, 2 the user, and the session's idle
# expiry pushed forward (SAVEPOINT, UPDATE, RELEASE).
SESSION_OVERHEAD = 5


@pytest.fixture(params=[5, 40], ids=["5-organisations", "40-organisations"])
def organisations(request, db):
    boroughs = list(Area.objects.boroughs().order_by("code"))
    return [
        OrganisationFactory(boroughs=[boroughs[(i + k) % len(boroughs)] for k in range(3)])
        for i in range(request.param)
    ]


def test_the_organisation_list_runs_three_queries(client, organisations, django_assert_num_queries):
    # 1 COUNT for the pager, 2 the page of organisations, 3 all their boroughs at once.
    with django_assert_num_queries(3):
        response = client.get("/api/v1/organisations/")
    body = response.json()
    assert body["count"] == len(organisations)
    assert all(len(o["boroughs"]) == 3 for o in body["results"])


def test_the_filtered_organisation_list_runs_three_queries(client, organisations, django_assert_num_queries):
    with django_assert_num_queries(3):
        response = client.get(
            "/api/v1/organisations/", {"borough": "E09000007", "type": "nhs_mh_provider", "ordering": "-name"}
        )
    assert response.status_code == 200


@pytest.mark.parametrize("page_size", [5, 50])
def test_the_area_list_runs_two_queries(client, page_size, django_assert_num_queries):
    # 1 COUNT, 2 the page of areas joined to their parents (the parent code needs no query of its own).
    with django_assert_num_queries(2):
        response = client.get("/api/v1/areas/", {"page_size": page_size})
    assert len(response.json()["results"]) == min(page_size, 39)


@pytest.mark.parametrize("page_size", [5, 50])
def test_the_borough_list_runs_two_queries(client, page_size, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = client.get("/api/v1/boroughs/", {"page_size": page_size, "level": "borough"})
    assert len(response.json()["results"]) == min(page_size, 33)


@pytest.mark.parametrize("members", [5, 40])
def test_the_membership_list_runs_two_queries_after_the_session(
    client_for, commissioner, commissioning_org, other_org, members, django_assert_num_queries
):
    # 1 COUNT of memberships in my organisations, 2 the page with users and organisations joined.
    MembershipFactory.create_batch(members, organisation=commissioning_org, role=Role.CLINICIAN)
    MembershipFactory.create_batch(members, organisation=other_org)  # not mine: filtered out in SQL
    client = client_for(commissioner)
    with django_assert_num_queries(2 + SESSION_OVERHEAD):
        response = client.get("/api/v1/memberships/")
    assert response.json()["count"] == members + 1


@pytest.mark.parametrize("members", [5, 40])
def test_the_membership_list_for_staff_runs_two_queries_after_the_session(
    client_for, staff, commissioning_org, members, django_assert_num_queries
):
    MembershipFactory.create_batch(members, organisation=commissioning_org)
    client = client_for(staff)
    with django_assert_num_queries(2 + SESSION_OVERHEAD):
        response = client.get("/api/v1/memberships/")
    assert response.json()["count"] == members


@pytest.mark.parametrize("organisation_count", [1, 10])
def test_me_with_a_token_runs_a_fixed_number_of_queries(commissioner, organisation_count, django_assert_num_queries):
    for _ in range(organisation_count):
        MembershipFactory(user=commissioner)
    _, plain = services.api_token_create(actor=commissioner, name="script", days=7)
    client = Client(HTTP_AUTHORIZATION=f"Token {plain}")
    # 1 tokens with this key and their user, 2 the user's other tokens (knox sweeps expired
    # ones), 3 is the person locked out (django-axes attempts), 4 last_used_at stamped (at
    # most every few minutes), 5 my memberships with their organisations. No session: a
    # token request neither reads nor writes one.
    with django_assert_num_queries(5):
        response = client.get("/api/v1/me/")
    assert len(response.json()["memberships"]) == organisation_count + 1
    # Within the resolution window last_used_at is not written again.
    with django_assert_num_queries(4):
        client.get("/api/v1/me/")


@pytest.mark.parametrize("borough_count", [1, 33])
def test_setting_boroughs_costs_the_same_for_one_borough_or_all_of_london(
    client_for, staff, borough_count, django_assert_num_queries
):
    codes = list(Area.objects.boroughs().order_by("code").values_list("code", flat=True)[:borough_count])
    organisation = OrganisationFactory()  # serves none yet: .set() only adds
    client = client_for(staff)
    # 1 the organisation, 2 its boroughs (prefetch), 3 the codes sent, resolved in one query;
    # organisation_update: 4 SAVEPOINT, 5 group exists, 6-8 unique name, slug and group,
    # 9-11 the "other type" check constraint (SAVEPOINT, SELECT, RELEASE), 12 UPDATE, 13 the
    # boroughs held now, 14 one INSERT of all the new links, 15 RELEASE; 16 the boroughs read
    # back for the response. (pghistory prefixes its context to each statement inside the
    # transaction: no extra round trips.) Plus the session overhead.
    with django_assert_num_queries(16 + SESSION_OVERHEAD):
        response = client.patch(
            f"/api/v1/organisations/{organisation.slug}/", {"boroughs": codes}, content_type="application/json"
        )
    assert len(response.json()["boroughs"]) == borough_count
