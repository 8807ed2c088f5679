"""stakeholders.permissions answers every "may this user ...?" about organisations and members."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from stakeholders import permissions, services
from stakeholders.models import Membership, Role

pytestmark = pytest.mark.django_db

anonymous = AnonymousUser()


def test_members_may_see_the_member_list_and_strangers_may_not(
    commissioner, org_admin, outsider, service_user, staff, commissioning_org
):
    assert permissions.can_view_members(commissioner, commissioning_org)
    assert permissions.can_view_members(org_admin, commissioning_org)
    assert permissions.can_view_members(staff, commissioning_org)
    assert not permissions.can_view_members(outsider, commissioning_org)
    assert not permissions.can_view_members(service_user, commissioning_org)
    assert not permissions.can_view_members(anonymous, commissioning_org)


def test_only_org_admins_and_staff_manage_members_and_edit_details(
    commissioner, org_admin, outsider, staff, commissioning_org
):
    for check in (permissions.can_manage_members, permissions.can_edit_organisation):
        assert check(org_admin, commissioning_org)
        assert check(staff, commissioning_org)
        assert not check(commissioner, commissioning_org)
        assert not check(outsider, commissioning_org)
        assert not check(anonymous, commissioning_org)


def test_only_staff_create_or_delete_organisations(org_admin, staff):
    for check in (permissions.can_create_organisation, permissions.can_delete_organisation):
        assert check(staff)
        assert not check(org_admin)
        assert not check(anonymous)


def test_roles_are_read_once_per_user_object(commissioner, commissioning_org, provider_org, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert permissions.is_member(commissioner, commissioning_org)
        assert not permissions.is_member(commissioner, provider_org)
        assert permissions.has_role(commissioner, Role.COMMISSIONER)
        assert not permissions.has_role(commissioner, Role.ORG_ADMIN)


def test_a_role_change_through_a_service_is_seen_at_once(org_admin, commissioner, commissioning_org):
    assert not permissions.can_manage_members(commissioner, commissioning_org)
    services.membership_add(actor=org_admin, user=commissioner, organisation=commissioning_org, role=Role.ORG_ADMIN)
    assert permissions.can_manage_members(commissioner, commissioning_org)


def test_a_membership_of_another_organisation_is_not_found_even_for_its_admin(
    org_admin, outsider, commissioning_org, other_org
):
    theirs = Membership.objects.get(user=outsider, organisation=other_org)
    with pytest.raises(Http404):
        permissions.get_membership_for_manager_or_404(org_admin, commissioning_org, theirs.pk)


def test_a_plain_member_is_refused_a_membership_of_their_own_organisation(org_admin, commissioner, commissioning_org):
    admins = Membership.objects.get(user=org_admin, organisation=commissioning_org)
    with pytest.raises(PermissionDenied):
        permissions.get_membership_for_manager_or_404(commissioner, commissioning_org, admins.pk)


def test_an_invitation_of_another_organisation_is_not_found(org_admin, outsider, commissioning_org, other_org):
    services.membership_add(actor=None, user=outsider, organisation=other_org, role=Role.ORG_ADMIN)
    theirs = services.invitation_create(actor=outsider, organisation=other_org, email="x@example.org", role="clinician")
    with pytest.raises(Http404):
        permissions.get_invitation_for_manager_or_404(org_admin, commissioning_org, theirs.pk)
