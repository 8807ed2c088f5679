"""Every write about people and organisations goes through stakeholders.services."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from stakeholders import services
from stakeholders.models import ApiToken, Area, Invitation, Membership, Organisation, OrganisationType, Role, User
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


# Organisations -----------------------------------------------------------------------


def test_organisation_create_makes_an_auth_group_and_a_unique_slug(staff):
    camden = Area.objects.get(short_code="CMD")
    first = services.organisation_create(
        actor=staff, name="Camden Mind", type=OrganisationType.VOLUNTARY, boroughs=[camden]
    )
    second = services.organisation_create(actor=staff, name="Camden  Mind!", type=OrganisationType.VOLUNTARY)

    assert first.slug == "camden-mind"
    assert second.slug == "camden-mind-2"
    assert first.group.name == "organisation:camden-mind"
    assert second.group.name == "organisation:camden-mind-2"
    assert list(first.boroughs.all()) == [camden]


def test_organisation_create_is_refused_to_non_staff(org_admin):
    with pytest.raises(PermissionDenied):
        services.organisation_create(actor=org_admin, name="Rogue Trust", type=OrganisationType.NHS_MH_PROVIDER)
    assert not Organisation.objects.filter(name="Rogue Trust").exists()


def test_an_org_admin_may_edit_details_but_not_change_the_type(org_admin, commissioning_org):
    services.organisation_update(actor=org_admin, organisation=commissioning_org, description="North Central London")
    commissioning_org.refresh_from_db()
    assert commissioning_org.description == "North Central London"

    with pytest.raises(PermissionDenied):
        services.organisation_update(actor=org_admin, organisation=commissioning_org, type=OrganisationType.POLICE)


def test_a_plain_member_may_not_edit_their_organisation(commissioner, commissioning_org):
    with pytest.raises(PermissionDenied):
        services.organisation_update(actor=commissioner, organisation=commissioning_org, description="Changed")


def test_organisation_delete_takes_the_group_and_memberships_with_it(staff, commissioner, commissioning_org):
    group_id = commissioning_org.group_id
    services.organisation_delete(actor=staff, organisation=commissioning_org)
    assert not Organisation.objects.filter(pk=commissioning_org.pk).exists()
    assert not Group.objects.filter(pk=group_id).exists()
    assert not Membership.objects.filter(user=commissioner).exists()


def test_organisation_delete_is_refused_to_its_own_admin(org_admin, commissioning_org):
    with pytest.raises(PermissionDenied):
        services.organisation_delete(actor=org_admin, organisation=commissioning_org)
    assert Organisation.objects.filter(pk=commissioning_org.pk).exists()


# Memberships -------------------------------------------------------------------------


def test_membership_add_puts_the_user_in_the_organisation_group(org_admin, commissioning_org):
    newcomer = UserFactory()
    membership = services.membership_add(
        actor=org_admin, user=newcomer, organisation=commissioning_org, role=Role.CLINICIAN
    )

    assert membership.created_by == org_admin
    assert commissioning_org.group in newcomer.groups.all()


def test_membership_add_is_idempotent(org_admin, commissioning_org):
    newcomer = UserFactory()
    first = services.membership_add(actor=org_admin, user=newcomer, organisation=commissioning_org, role=Role.CLINICIAN)
    again = services.membership_add(actor=org_admin, user=newcomer, organisation=commissioning_org, role=Role.CLINICIAN)
    assert first.pk == again.pk
    assert Membership.objects.filter(user=newcomer).count() == 1


def test_membership_add_is_refused_to_a_plain_member(commissioner, commissioning_org):
    with pytest.raises(PermissionDenied):
        services.membership_add(actor=commissioner, user=UserFactory(), organisation=commissioning_org, role="academic")


def test_the_group_stays_until_the_last_role_goes(org_admin, commissioning_org):
    person = UserFactory()
    clinician = services.membership_add(actor=org_admin, user=person, organisation=commissioning_org, role="clinician")
    academic = services.membership_add(actor=org_admin, user=person, organisation=commissioning_org, role="academic")

    services.membership_remove(actor=org_admin, membership=clinician)
    assert commissioning_org.group in person.groups.all()

    services.membership_remove(actor=org_admin, membership=academic)
    assert commissioning_org.group not in person.groups.all()


def test_it_refuses_to_remove_the_last_admin(org_admin, commissioning_org):
    membership = Membership.objects.get(user=org_admin, organisation=commissioning_org, role=Role.ORG_ADMIN)
    with pytest.raises(ValidationError, match="at least one admin"):
        services.membership_remove(actor=org_admin, membership=membership)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_it_refuses_to_demote_the_last_admin(org_admin, commissioning_org):
    membership = Membership.objects.get(user=org_admin, organisation=commissioning_org, role=Role.ORG_ADMIN)
    with pytest.raises(ValidationError, match="at least one admin"):
        services.membership_change_role(actor=org_admin, membership=membership, role=Role.COMMISSIONER)
    membership.refresh_from_db()
    assert membership.role == Role.ORG_ADMIN


def test_an_admin_may_step_down_once_there_is_another_admin(org_admin, commissioning_org):
    MembershipFactory(organisation=commissioning_org, role=Role.ORG_ADMIN)
    membership = Membership.objects.get(user=org_admin, organisation=commissioning_org, role=Role.ORG_ADMIN)

    services.membership_change_role(actor=org_admin, membership=membership, role=Role.COMMISSIONER)

    membership.refresh_from_db()
    assert membership.role == Role.COMMISSIONER


def test_staff_may_remove_the_last_admin(staff, org_admin, commissioning_org):
    # Staff clean up abandoned organisations; the guard is for admins locking themselves out.
    membership = Membership.objects.get(user=org_admin, organisation=commissioning_org, role=Role.ORG_ADMIN)
    services.membership_remove(actor=staff, membership=membership)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert commissioning_org.group not in org_admin.groups.all()


def test_changing_to_a_role_already_held_is_refused(org_admin, commissioning_org):
    person = UserFactory()
    services.membership_add(actor=org_admin, user=person, organisation=commissioning_org, role=Role.ACADEMIC)
    clinician = services.membership_add(actor=org_admin, user=person, organisation=commissioning_org, role="clinician")
    with pytest.raises(ValidationError, match="already has the role"):
        services.membership_change_role(actor=org_admin, membership=clinician, role=Role.ACADEMIC)


def test_changing_a_role_is_refused_to_a_plain_member(commissioner, org_admin, commissioning_org):
    membership = Membership.objects.get(user=org_admin, organisation=commissioning_org)
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=commissioner, membership=membership, role=Role.CLINICIAN)


# Invitations -------------------------------------------------------------------------


def test_invitation_create_enqueues_the_email_on_commit(
    org_admin, commissioning_org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = services.invitation_create(
            actor=org_admin, organisation=commissioning_org, email="  New.Person@Example.org ", role=Role.CLINICIAN
        )

    assert len(callbacks) == 1
    assert invitation.email == "new.person@example.org"
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.invited_by == org_admin
    assert invitation.sent_at is None  # nothing is sent until the worker runs


def test_invitation_create_refuses_a_second_pending_invitation_for_the_same_role(org_admin, commissioning_org):
    services.invitation_create(actor=org_admin, organisation=commissioning_org, email="a@example.org", role="clinician")
    with pytest.raises(ValidationError, match="pending invitation"):
        services.invitation_create(
            actor=org_admin, organisation=commissioning_org, email="A@EXAMPLE.ORG", role=Role.CLINICIAN
        )
    # Another role is a different invitation.
    services.invitation_create(actor=org_admin, organisation=commissioning_org, email="a@example.org", role="academic")


def test_invitation_create_refuses_someone_who_already_has_the_role(org_admin, commissioner, commissioning_org):
    with pytest.raises(ValidationError, match="already has this role"):
        services.invitation_create(
            actor=org_admin, organisation=commissioning_org, email=commissioner.email.upper(), role=Role.COMMISSIONER
        )


def test_invitation_create_is_refused_to_a_plain_member(commissioner, commissioning_org):
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            actor=commissioner, organisation=commissioning_org, email="x@example.org", role=Role.COMMISSIONER
        )


@pytest.fixture
def invitation(org_admin, commissioning_org):
    return services.invitation_create(
        actor=org_admin, organisation=commissioning_org, email="invitee@example.org", role=Role.CLINICIAN
    )


def test_invitation_accept_makes_the_membership_and_closes_the_invitation(invitation, commissioning_org):
    invitee = UserFactory(email="Invitee@Example.org")

    membership = services.invitation_accept(user=invitee, invitation=invitation)

    invitation.refresh_from_db()
    assert membership.organisation == commissioning_org
    assert membership.role == Role.CLINICIAN
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.accepted_by == invitee
    assert commissioning_org.group in invitee.groups.all()


def test_invitation_accept_requires_the_invited_email(invitation):
    stranger = UserFactory(email="someone.else@example.org")
    with pytest.raises(ValidationError, match=r"sent to invitee@example\.org"):
        services.invitation_accept(user=stranger, invitation=invitation)
    assert not Membership.objects.filter(user=stranger).exists()


def test_an_invitation_cannot_be_accepted_twice(invitation):
    invitee = UserFactory(email="invitee@example.org")
    services.invitation_accept(user=invitee, invitation=invitation)
    with pytest.raises(ValidationError, match="no longer valid"):
        services.invitation_accept(user=invitee, invitation=invitation)


def test_a_revoked_invitation_cannot_be_accepted(invitation, org_admin):
    services.invitation_revoke(actor=org_admin, invitation=invitation)
    with pytest.raises(ValidationError, match="no longer valid"):
        services.invitation_accept(user=UserFactory(email="invitee@example.org"), invitation=invitation)


def test_only_a_pending_invitation_can_be_revoked(invitation, org_admin):
    services.invitation_revoke(actor=org_admin, invitation=invitation)
    with pytest.raises(ValidationError, match="Only pending"):
        services.invitation_revoke(actor=org_admin, invitation=invitation)


def test_an_invitation_past_its_date_cannot_be_accepted(invitation, settings):
    invitee = UserFactory(email="invitee@example.org")
    later = timezone.now() + timedelta(days=settings.INVITATION_DAYS, minutes=1)
    with time_machine.travel(later), pytest.raises(ValidationError, match="no longer valid"):
        services.invitation_accept(user=invitee, invitation=invitation)


def test_invitations_expire_marks_only_pending_invitations_past_their_date(invitation, org_admin, commissioning_org):
    fresh = Invitation.objects.create(
        organisation=commissioning_org,
        email="fresh@example.org",
        role=Role.ACADEMIC,
        expires_at=timezone.now() + timedelta(days=1),
    )
    accepted_late = Invitation.objects.create(
        organisation=commissioning_org,
        email="done@example.org",
        role=Role.ACADEMIC,
        status=Invitation.Status.ACCEPTED,
        expires_at=timezone.now() - timedelta(days=1),
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert services.invitations_expire() == 1
    assert services.invitations_expire() == 0  # idempotent, as a nightly job must be

    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses[invitation.pk] == Invitation.Status.EXPIRED
    assert statuses[fresh.pk] == Invitation.Status.PENDING
    assert statuses[accepted_late.pk] == Invitation.Status.ACCEPTED


def test_the_signed_token_finds_its_invitation_and_garbage_finds_nothing(invitation):
    token = services.invitation_signed_token(invitation)
    assert services.invitation_from_token(token) == invitation
    assert services.invitation_from_token(token + "x") is None
    assert services.invitation_from_token("not-a-token") is None


def test_an_expired_invitations_token_still_finds_it_so_the_page_can_say_it_expired(invitation, settings):
    token = services.invitation_signed_token(invitation)
    with time_machine.travel(timezone.now() + timedelta(days=settings.INVITATION_DAYS + 30)):
        found = services.invitation_from_token(token)
        assert found == invitation
        assert not found.is_open


# People ------------------------------------------------------------------------------


def test_user_sign_up_records_consent_and_lowercases_the_email():
    user = services.user_sign_up(
        email=" Sam@Example.ORG", password="a-long-secret-phrase", display_name=" Sam ", lived_experience="carer"
    )
    assert user.email == "sam@example.org"
    assert user.display_name == "Sam"
    assert user.terms_accepted_at is not None
    assert user.check_password("a-long-secret-phrase")
    assert user.show_lived_experience is False


def test_user_sign_up_with_an_email_that_differs_only_in_case_creates_nothing_and_says_so_to_no_one():
    services.user_sign_up(email="sam@example.org", password="a-long-secret-phrase", display_name="Sam")
    assert services.user_sign_up(email="SAM@example.org", password="another-phrase-9", display_name="Sam again") is None
    assert User.objects.filter(email__iexact="sam@example.org").count() == 1
    assert User.objects.get(email="sam@example.org").display_name == "Sam"


def test_the_lived_experience_badge_needs_lived_experience(service_user):
    services.user_update_profile(
        actor=service_user, user=service_user, display_name="Sky", lived_experience="", show_lived_experience=True
    )
    service_user.refresh_from_db()
    assert service_user.show_lived_experience is False


def test_nobody_may_edit_someone_elses_profile(service_user, outsider):
    with pytest.raises(PermissionDenied):
        services.user_update_profile(
            actor=outsider, user=service_user, display_name="Hacked", lived_experience="", show_lived_experience=False
        )


# API tokens --------------------------------------------------------------------------


def test_api_token_create_returns_the_plain_token_once_and_stores_only_its_digest(service_user):
    token, plain = services.api_token_create(actor=service_user, name=" upload script ", days=30)

    assert plain.startswith("lmh_")
    assert token.name == "upload script"
    assert token.digest != plain
    assert plain.startswith(token.token_key)
    # No column of the stored row holds the plain token.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table} WHERE digest = %s", [token.digest])  # noqa: S608
        row = cursor.fetchone()
    assert row is not None
    assert all(plain not in str(value) for value in row)
    assert token.expiry - timezone.now() == pytest.approx(timedelta(days=30), abs=timedelta(minutes=1))


@pytest.mark.parametrize("days", [0, -1, "max+1"])
def test_api_token_create_rejects_days_outside_the_allowed_range(service_user, settings, days):
    days = settings.API_TOKEN_MAX_DAYS + 1 if days == "max+1" else days
    with pytest.raises(ValidationError) as excinfo:
        services.api_token_create(actor=service_user, name="script", days=days)
    assert "days" in excinfo.value.error_dict
    assert not ApiToken.objects.filter(user=service_user).exists()


def test_api_token_create_accepts_the_longest_allowed_life(service_user, settings):
    token, _ = services.api_token_create(actor=service_user, name="yearly", days=settings.API_TOKEN_MAX_DAYS)
    assert token.expiry > timezone.now() + timedelta(days=settings.API_TOKEN_MAX_DAYS - 1)


def test_api_token_create_needs_a_name(service_user):
    with pytest.raises(ValidationError) as excinfo:
        services.api_token_create(actor=service_user, name="   ", days=10)
    assert "name" in excinfo.value.error_dict


def test_api_token_revoke_deletes_ones_own_token(service_user):
    token, _ = services.api_token_create(actor=service_user, name="script", days=10)
    services.api_token_revoke(actor=service_user, token=token)
    assert not ApiToken.objects.filter(user=service_user).exists()


def test_api_token_revoke_of_someone_elses_token_is_refused(service_user, outsider):
    token, _ = services.api_token_create(actor=service_user, name="script", days=10)
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(actor=outsider, token=token)
    assert ApiToken.objects.filter(pk=token.pk).exists()
