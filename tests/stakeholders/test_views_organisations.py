"""Directory, organisation and membership pages: allowed, 403 and 404 for each view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stakeholders import services
from stakeholders.models import Area, Invitation, Membership, OrganisationType, Role
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def _login_redirect(response, path: str) -> bool:
    return response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={path}"


# Directory ---------------------------------------------------------------------------


def test_the_directory_lists_organisations_for_anyone(client, commissioning_org, provider_org):
    response = client.get("/organisations/")
    assert response.status_code == 200
    assert commissioning_org.name in response.text
    assert provider_org.name in response.text


def test_the_directory_filters_by_type_and_text(client, commissioning_org, provider_org):
    response = client.get("/organisations/", {"type": OrganisationType.ICB_COMMISSIONER})
    assert commissioning_org.name in response.text
    assert provider_org.name not in response.text

    response = client.get("/organisations/", {"q": "provider"})
    assert provider_org.name in response.text
    assert commissioning_org.name not in response.text


def test_the_borough_filter_lists_only_organisations_serving_that_borough(
    client, commissioning_org, provider_org, other_org
):
    response = client.get("/organisations/", {"borough": "E09000007"})  # Camden
    assert commissioning_org.name in response.text
    assert provider_org.name in response.text
    assert other_org.name not in response.text  # Lambeth only
    assert "2 organisations" in response.text


def test_an_unknown_borough_filter_is_ignored_rather_than_an_error(client, commissioning_org):
    response = client.get("/organisations/", {"borough": "nonsense"})
    assert response.status_code == 200
    assert commissioning_org.name in response.text


def test_the_directory_pages_twenty_at_a_time(client):
    OrganisationFactory.create_batch(25)
    assert "Showing 1 to 20 of 25" in client.get("/organisations/").text
    assert "Showing 21 to 25 of 25" in client.get("/organisations/", {"page": 2}).text


# Organisation page -------------------------------------------------------------------


def test_the_organisation_page_shows_boroughs_to_anyone_but_members_only_to_members(
    client, client_for, commissioner, org_admin, outsider, commissioning_org
):
    url = f"/organisations/{commissioning_org.slug}/"

    anonymous = client.get(url)
    assert anonymous.status_code == 200
    assert "Camden" in anonymous.text
    assert "Islington" in anonymous.text
    assert "Casey Commissioner" not in anonymous.text
    assert "<h2>Members</h2>" not in anonymous.text

    stranger = client_for(outsider).get(url)
    assert "Casey Commissioner" not in stranger.text

    member = client_for(commissioner).get(url)
    assert "Casey Commissioner" in member.text
    assert "Ada Admin" in member.text
    assert "Manage members" not in member.text

    admin = client_for(org_admin).get(url)
    assert "Manage members" in admin.text


def test_an_unknown_organisation_is_not_found(client):
    assert client.get("/organisations/no-such-organisation/").status_code == 404


# Editing an organisation -------------------------------------------------------------


def test_an_org_admin_edits_the_organisation_details(client_for, org_admin, commissioning_org):
    url = f"/organisations/{commissioning_org.slug}/edit/"
    client = client_for(org_admin)
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "name": commissioning_org.name,
            "description": "Commissioning for North Central London",
            "website": "ncl.example.org",
            "boroughs": [b.pk for b in commissioning_org.boroughs.all()][:1],
        },
    )

    assert response.status_code == 302
    assert response["Location"] == commissioning_org.get_absolute_url()
    commissioning_org.refresh_from_db()
    assert commissioning_org.description == "Commissioning for North Central London"
    assert commissioning_org.website == "https://ncl.example.org"
    assert commissioning_org.boroughs.count() == 1


def test_the_edit_form_shows_the_nhs_error_summary(client_for, org_admin, commissioning_org):
    response = client_for(org_admin).post(f"/organisations/{commissioning_org.slug}/edit/", {"name": ""})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert 'href="#id_name"' in response.text


@pytest.mark.parametrize("who", ["commissioner", "outsider", "service_user"])
def test_others_may_not_edit_an_organisation(request, client_for, commissioning_org, who):
    client = client_for(request.getfixturevalue(who))
    url = f"/organisations/{commissioning_org.slug}/edit/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Hijacked"}).status_code == 403
    commissioning_org.refresh_from_db()
    assert commissioning_org.name != "Hijacked"


def test_editing_needs_sign_in(client, commissioning_org):
    url = f"/organisations/{commissioning_org.slug}/edit/"
    assert _login_redirect(client.get(url), url)


def test_editing_an_unknown_organisation_is_not_found(client_for, staff):
    assert client_for(staff).get("/organisations/nope/edit/").status_code == 404


# Members and invitations -------------------------------------------------------------


def test_an_org_admin_sees_members_and_pending_invitations(client_for, org_admin, commissioner, commissioning_org):
    services.invitation_create(
        actor=org_admin, organisation=commissioning_org, email="new@example.org", role="academic"
    )
    response = client_for(org_admin).get(f"/organisations/{commissioning_org.slug}/members/")
    assert response.status_code == 200
    assert commissioner.email in response.text
    assert "new@example.org" in response.text


def test_an_org_admin_invites_someone(client_for, org_admin, commissioning_org, django_capture_on_commit_callbacks):
    url = f"/organisations/{commissioning_org.slug}/members/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(org_admin).post(url, {"email": "New@Example.org", "role": Role.CLINICIAN})
    assert response.status_code == 302
    assert response["Location"] == url
    assert Invitation.objects.filter(organisation=commissioning_org, email="new@example.org").exists()
    assert len(callbacks) == 1


def test_a_duplicate_invitation_shows_the_error_summary(client_for, org_admin, commissioner, commissioning_org):
    response = client_for(org_admin).post(
        f"/organisations/{commissioning_org.slug}/members/", {"email": commissioner.email, "role": Role.COMMISSIONER}
    )
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "already has this role" in response.text


@pytest.mark.parametrize("who", ["commissioner", "outsider"])
def test_a_plain_member_or_outsider_may_not_manage_members(request, client_for, commissioning_org, who):
    client = client_for(request.getfixturevalue(who))
    url = f"/organisations/{commissioning_org.slug}/members/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"email": "x@example.org", "role": Role.ORG_ADMIN}).status_code == 403
    assert not Invitation.objects.exists()


def test_managing_members_needs_sign_in(client, commissioning_org):
    url = f"/organisations/{commissioning_org.slug}/members/"
    assert _login_redirect(client.get(url), url)


def test_members_of_an_unknown_organisation_are_not_found(client_for, staff):
    assert client_for(staff).get("/organisations/nope/members/").status_code == 404


# One membership ----------------------------------------------------------------------


@pytest.fixture
def commissioner_membership(commissioner, commissioning_org):
    return Membership.objects.get(user=commissioner, organisation=commissioning_org)


def test_an_org_admin_changes_a_role(client_for, org_admin, commissioning_org, commissioner_membership):
    url = f"/organisations/{commissioning_org.slug}/members/{commissioner_membership.pk}/"
    client = client_for(org_admin)
    assert client.get(url).status_code == 200

    response = client.post(url, {"role": Role.MODERATOR})

    assert response.status_code == 302
    commissioner_membership.refresh_from_db()
    assert commissioner_membership.role == Role.MODERATOR


def test_an_org_admin_removes_a_role(client_for, org_admin, commissioner, commissioning_org, commissioner_membership):
    url = f"/organisations/{commissioning_org.slug}/members/{commissioner_membership.pk}/"
    response = client_for(org_admin).post(url, {"remove": "1"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=commissioner_membership.pk).exists()
    assert commissioning_org.group not in commissioner.groups.all()


def test_the_last_admin_cannot_remove_themselves_and_is_told_why(client_for, org_admin, commissioning_org):
    own = Membership.objects.get(user=org_admin, organisation=commissioning_org)
    response = client_for(org_admin).post(f"/organisations/{commissioning_org.slug}/members/{own.pk}/", {"remove": "1"})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "at least one admin" in response.text
    assert Membership.objects.filter(pk=own.pk).exists()


def test_a_plain_member_may_not_change_roles(client_for, commissioner, org_admin, commissioning_org):
    admins = Membership.objects.get(user=org_admin, organisation=commissioning_org)
    url = f"/organisations/{commissioning_org.slug}/members/{admins.pk}/"
    client = client_for(commissioner)
    assert client.get(url).status_code == 403
    assert client.post(url, {"remove": "1"}).status_code == 403
    assert Membership.objects.filter(pk=admins.pk).exists()


def test_a_membership_of_another_organisation_is_not_found_under_mine(
    client_for, org_admin, outsider, commissioning_org, other_org
):
    theirs = Membership.objects.get(user=outsider, organisation=other_org)
    url = f"/organisations/{commissioning_org.slug}/members/{theirs.pk}/"
    client = client_for(org_admin)
    assert client.get(url).status_code == 404
    assert client.post(url, {"remove": "1"}).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_changing_a_membership_needs_sign_in(client, commissioning_org, commissioner_membership):
    url = f"/organisations/{commissioning_org.slug}/members/{commissioner_membership.pk}/"
    assert _login_redirect(client.get(url), url)


# Revoking an invitation --------------------------------------------------------------


@pytest.fixture
def invitation(org_admin, commissioning_org):
    return services.invitation_create(
        actor=org_admin, organisation=commissioning_org, email="invitee@example.org", role=Role.CLINICIAN
    )


def test_an_org_admin_revokes_an_invitation(client_for, org_admin, commissioning_org, invitation):
    url = f"/organisations/{commissioning_org.slug}/invitations/{invitation.pk}/revoke/"
    response = client_for(org_admin).post(url)
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED


def test_revoking_is_a_post(client_for, org_admin, commissioning_org, invitation):
    url = f"/organisations/{commissioning_org.slug}/invitations/{invitation.pk}/revoke/"
    assert client_for(org_admin).get(url).status_code == 405


def test_a_plain_member_may_not_revoke_an_invitation(client_for, commissioner, commissioning_org, invitation):
    url = f"/organisations/{commissioning_org.slug}/invitations/{invitation.pk}/revoke/"
    assert client_for(commissioner).post(url).status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_an_invitation_of_another_organisation_is_not_found_under_mine(
    client_for, outsider, commissioning_org, other_org, invitation
):
    MembershipFactory(user=outsider, organisation=other_org, role=Role.ORG_ADMIN)
    url = f"/organisations/{other_org.slug}/invitations/{invitation.pk}/revoke/"
    assert client_for(outsider).post(url).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_revoking_needs_sign_in(client, commissioning_org, invitation):
    url = f"/organisations/{commissioning_org.slug}/invitations/{invitation.pk}/revoke/"
    assert _login_redirect(client.post(url), url)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_revoking_under_an_unknown_organisation_is_not_found(client_for, staff, invitation):
    assert client_for(staff).post(f"/organisations/nope/invitations/{invitation.pk}/revoke/").status_code == 404


# Places ------------------------------------------------------------------------------


def test_the_borough_list_groups_the_33_boroughs_by_sub_region(client):
    response = client.get("/areas/")
    assert response.status_code == 200
    for sub_region in Area.objects.sub_regions():
        assert f"<h2>{sub_region.name}</h2>" in response.text
    assert response.text.count('href="/areas/E09') == 33


def test_a_borough_page_lists_the_organisations_serving_it(client, commissioning_org, other_org):
    response = client.get("/areas/E09000007/")
    assert response.status_code == 200
    assert "Camden" in response.text
    assert commissioning_org.name in response.text
    assert other_org.name not in response.text  # Lambeth only


def test_a_sub_region_page_lists_its_boroughs(client):
    camden = Area.objects.get(code="E09000007")
    response = client.get(f"/areas/{camden.parent.code}/")
    assert response.status_code == 200
    assert "Camden" in response.text


def test_an_unknown_area_is_not_found(client):
    assert client.get("/areas/E09999999/").status_code == 404
