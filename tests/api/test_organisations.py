"""/api/v1/organisations/: anyone reads; staff create; an organisation's admins edit it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from stakeholders.models import Organisation, OrganisationType
from tests.api.helpers import assert_problem, field_errors
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


def test_anyone_reads_the_organisations_with_their_boroughs(client, commissioning_org, provider_org):
    body = client.get("/api/v1/organisations/").json()
    assert body["count"] == 2
    ncl = next(o for o in body["results"] if o["slug"] == commissioning_org.slug)
    assert ncl["name"] == "NCL ICB (test)"
    assert ncl["type"] == "icb"
    assert sorted(ncl["boroughs"]) == ["E09000007", "E09000019"]  # Camden, Islington
    assert ncl["url"] == f"http://testserver/api/v1/organisations/{commissioning_org.slug}/"


def test_one_organisation_by_slug(client, commissioning_org):
    body = client.get(f"/api/v1/organisations/{commissioning_org.slug}/").json()
    assert body["slug"] == commissioning_org.slug


def test_an_unknown_organisation_is_a_problem(client):
    assert_problem(client.get("/api/v1/organisations/no-such-thing/"), 404)


def test_organisations_filter_by_type(client, commissioning_org, provider_org, other_org):
    body = client.get("/api/v1/organisations/", {"type": "icb"}).json()
    assert [o["slug"] for o in body["results"]] == [commissioning_org.slug]


def test_organisations_filter_by_borough_gss_code(client, commissioning_org, provider_org, other_org):
    body = client.get("/api/v1/organisations/", {"borough": "E09000007"}).json()  # Camden
    assert {o["slug"] for o in body["results"]} == {commissioning_org.slug, provider_org.slug}
    # Filtering must not trim the boroughs each organisation lists.
    ncl = next(o for o in body["results"] if o["slug"] == commissioning_org.slug)
    assert len(ncl["boroughs"]) == 2


def test_organisations_order_and_search(client, commissioning_org, provider_org, other_org):
    names = [o["name"] for o in client.get("/api/v1/organisations/", {"ordering": "-name"}).json()["results"]]
    assert names == sorted(names, reverse=True)
    found = client.get("/api/v1/organisations/", {"search": "provider"}).json()["results"]
    assert [o["slug"] for o in found] == [provider_org.slug]


def test_the_page_size_is_capped_at_500(client):
    # Built in bulk: 510 organisations through a factory would take seconds.
    groups = Group.objects.bulk_create([Group(name=f"organisation:bulk-{i}") for i in range(510)])
    Organisation.objects.bulk_create(
        [
            Organisation(name=f"Bulk {i:03}", slug=f"bulk-{i}", type=OrganisationType.VOLUNTARY, group=g)
            for i, g in enumerate(groups)
        ]
    )
    body = client.get("/api/v1/organisations/", {"page_size": 10_000}).json()
    assert body["count"] == 510
    assert len(body["results"]) == 500
    assert "page=2" in body["next"]
    assert len(client.get("/api/v1/organisations/").json()["results"]) == 50  # the default


# Creating ----------------------------------------------------------------------------


def test_staff_create_an_organisation_and_its_group(client_for, staff):
    response = client_for(staff).post(
        "/api/v1/organisations/",
        {"name": "Camden Mind", "type": "voluntary", "boroughs": ["E09000007"], "website": "https://mind.example"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "camden-mind"
    assert body["boroughs"] == ["E09000007"]
    organisation = Organisation.objects.get(slug="camden-mind")
    assert organisation.group.name == "organisation:camden-mind"


@pytest.mark.parametrize("who", ["org_admin", "commissioner", "service_user"])
def test_others_may_not_create_organisations(request, client_for, who):
    client = client_for(request.getfixturevalue(who))
    response = client.post("/api/v1/organisations/", {"name": "Rogue", "type": "voluntary"}, content_type=JSON)
    assert_problem(response, 403)
    assert not Organisation.objects.filter(name="Rogue").exists()


def test_anonymous_visitors_are_asked_to_authenticate(client):
    response = client.post("/api/v1/organisations/", {"name": "Rogue", "type": "voluntary"}, content_type=JSON)
    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"
    assert body["title"] == "Not signed in"


def test_an_invalid_organisation_lists_each_field_error(client_for, staff, commissioning_org):
    response = client_for(staff).post(
        "/api/v1/organisations/",
        {"name": commissioning_org.name, "type": "spaceship", "boroughs": ["E09999999"], "website": "not a url"},
        content_type=JSON,
    )
    body = assert_problem(response, 400)
    errors = field_errors(body)
    assert errors["type"] == ["invalid_choice"]
    assert errors["boroughs"] == ["does_not_exist"]
    assert errors["website"] == ["invalid"]
    assert errors["name"] == ["unique"]


def test_a_missing_name_is_a_required_field_error(client_for, staff):
    body = assert_problem(client_for(staff).post("/api/v1/organisations/", {"type": "icb"}, content_type=JSON), 400)
    assert field_errors(body) == {"name": ["required"]}


# Editing -----------------------------------------------------------------------------


def test_an_org_admin_patches_their_organisation(client_for, org_admin, commissioning_org):
    response = client_for(org_admin).patch(
        f"/api/v1/organisations/{commissioning_org.slug}/",
        {"description": "North Central London ICB", "boroughs": ["E09000007"]},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    assert response.json()["boroughs"] == ["E09000007"]
    commissioning_org.refresh_from_db()
    assert commissioning_org.description == "North Central London ICB"
    assert [b.code for b in commissioning_org.boroughs.all()] == ["E09000007"]


def test_an_org_admin_may_not_change_the_type(client_for, org_admin, commissioning_org):
    response = client_for(org_admin).patch(
        f"/api/v1/organisations/{commissioning_org.slug}/", {"type": "police"}, content_type=JSON
    )
    assert_problem(response, 403)
    commissioning_org.refresh_from_db()
    assert commissioning_org.type == OrganisationType.ICB_COMMISSIONER


def test_staff_may_change_the_type(client_for, staff, commissioning_org):
    response = client_for(staff).patch(
        f"/api/v1/organisations/{commissioning_org.slug}/", {"type": "la"}, content_type=JSON
    )
    assert response.status_code == 200
    assert response.json()["type"] == "la"


@pytest.mark.parametrize("who", ["outsider", "commissioner"])
def test_an_outsider_or_plain_member_may_not_patch(request, client_for, commissioning_org, who):
    response = client_for(request.getfixturevalue(who)).patch(
        f"/api/v1/organisations/{commissioning_org.slug}/", {"description": "Hijacked"}, content_type=JSON
    )
    assert_problem(response, 403)
    commissioning_org.refresh_from_db()
    assert commissioning_org.description != "Hijacked"


def test_anonymous_patch_is_unauthenticated(client, commissioning_org):
    response = client.patch(f"/api/v1/organisations/{commissioning_org.slug}/", {"name": "x"}, content_type=JSON)
    assert_problem(response, 401)


def test_put_is_not_offered(client_for, staff, commissioning_org):
    response = client_for(staff).put(
        f"/api/v1/organisations/{commissioning_org.slug}/", {"name": "x", "type": "icb"}, content_type=JSON
    )
    assert_problem(response, 405)


def test_patching_an_unknown_organisation_is_a_problem(client_for, staff):
    assert_problem(client_for(staff).patch("/api/v1/organisations/nope/", {"name": "x"}, content_type=JSON), 404)


# Deleting ----------------------------------------------------------------------------


def test_only_staff_delete_an_organisation_and_its_group_goes_too(client_for, org_admin, staff, commissioning_org):
    url = f"/api/v1/organisations/{commissioning_org.slug}/"
    assert_problem(client_for(org_admin).delete(url), 403)

    group_id = commissioning_org.group_id
    assert client_for(staff).delete(url).status_code == 204
    assert not Organisation.objects.filter(pk=commissioning_org.pk).exists()
    assert not Group.objects.filter(pk=group_id).exists()


def test_deleting_needs_an_existing_organisation(client_for, staff):
    OrganisationFactory()
    assert_problem(client_for(staff).delete("/api/v1/organisations/nope/"), 404)
