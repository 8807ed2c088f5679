"""Every "may this user ...?" question about people and organisations.

Organisations and boroughs are public. Member lists are visible to the
organisation's own members and to staff. Organisation admins (and staff) manage
members and invitations. Views and the API both ask these functions.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from stakeholders.models import Invitation, Membership, Organisation, Role, User

AnyUser = User | AnonymousUser


def _role_cache(user: AnyUser) -> dict[int, set[str]]:
    """Roles by organisation id for this user, read once per request-bound user object."""
    if not user.is_authenticated:
        return {}
    cache = getattr(user, "_lmh_roles", None)
    if cache is None:
        cache = {}
        # order_by(): the model's default ordering would join users and organisations for nothing.
        for org_id, role in Membership.objects.filter(user=user).order_by().values_list("organisation_id", "role"):
            cache.setdefault(org_id, set()).add(role)
        user._lmh_roles = cache  # type: ignore[union-attr]
    return cache


def forget_roles(user: AnyUser) -> None:
    """Drop the cached roles after memberships change."""
    if hasattr(user, "_lmh_roles"):
        del user._lmh_roles  # type: ignore[union-attr]


def roles_in(user: AnyUser, organisation: Organisation) -> set[str]:
    return _role_cache(user).get(organisation.pk, set())


def has_role(user: AnyUser, role: str) -> bool:
    """True when the user holds `role` in any organisation."""
    return any(role in roles for roles in _role_cache(user).values())


def is_member(user: AnyUser, organisation: Organisation) -> bool:
    return bool(roles_in(user, organisation))


def can_view_members(user: AnyUser, organisation: Organisation) -> bool:
    return user.is_authenticated and (user.is_staff or is_member(user, organisation))


def can_manage_members(user: AnyUser, organisation: Organisation) -> bool:
    return user.is_authenticated and (user.is_staff or Role.ORG_ADMIN in roles_in(user, organisation))


def can_edit_organisation(user: AnyUser, organisation: Organisation) -> bool:
    return can_manage_members(user, organisation)


def can_create_organisation(user: AnyUser) -> bool:
    return user.is_authenticated and user.is_staff


def can_delete_organisation(user: AnyUser) -> bool:
    return user.is_authenticated and user.is_staff


def require(allowed: bool) -> None:
    """Raise 403 when a known, visible object may not be written by this user."""
    if not allowed:
        raise PermissionDenied


def get_membership_for_manager_or_404(user: AnyUser, organisation: Organisation, pk: int) -> Membership:
    """A membership of `organisation`, for someone who may manage it.

    A membership id of another organisation is a 404, not a 403: ids must not leak.
    """
    try:
        membership = Membership.objects.select_related("user", "organisation").get(pk=pk, organisation=organisation)
    except Membership.DoesNotExist:
        raise Http404 from None
    require(can_manage_members(user, organisation))
    return membership


def get_invitation_for_manager_or_404(user: AnyUser, organisation: Organisation, pk: int) -> Invitation:
    try:
        invitation = Invitation.objects.get(pk=pk, organisation=organisation)
    except Invitation.DoesNotExist:
        raise Http404 from None
    require(can_manage_members(user, organisation))
    return invitation
