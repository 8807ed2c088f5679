"""Every write about people and organisations. Views, the API and commands call these."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from kernel.history import records_actor
from stakeholders import permissions
from stakeholders.models import ApiToken, Area, Invitation, Membership, Organisation, Role, User

logger = logging.getLogger(__name__)

INVITATION_SALT = "stakeholders.invitation"


# Organisations -----------------------------------------------------------------------


def _unique_slug(name: str, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:180] or "organisation"
    slug, n = base, 2
    qs = Organisation.objects.all()
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    while qs.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@records_actor
@transaction.atomic
def organisation_create(
    *,
    actor: User | None,
    name: str,
    type: str,
    boroughs: list[Area] | None = None,
    description: str = "",
    website: str = "",
    other_type: str = "",
) -> Organisation:
    """Create an organisation and the auth group that carries its permissions.

    `other_type` says what kind of body an organisation of the type Other is (required then).

    Permission: staff (checked here); `actor=None` is for data migrations and seeding.
    """
    if actor is not None and not permissions.can_create_organisation(actor):
        raise PermissionDenied
    slug = _unique_slug(name)
    group = Group.objects.create(name=f"organisation:{slug}")
    organisation = Organisation(
        name=name,
        slug=slug,
        type=type,
        other_type=other_type,
        description=description,
        website=website,
        group=group,
    )
    organisation.full_clean()
    organisation.save()
    if boroughs:
        organisation.boroughs.set(boroughs)
    return organisation


@records_actor
@transaction.atomic
def organisation_update(
    *, actor: User, organisation: Organisation, boroughs: list[Area] | None = None, **fields: object
) -> Organisation:
    """Change an organisation's details. Permission: its admins or staff."""
    permissions.require(permissions.can_edit_organisation(actor, organisation))
    allowed = {"name", "type", "other_type", "description", "website"}
    if not actor.is_staff:
        allowed -= {"type", "other_type"}  # the type decides what an organisation may do
    for key, value in fields.items():
        if key not in allowed:
            raise PermissionDenied(f"{key} cannot be changed here.")
        setattr(organisation, key, value)
    organisation.full_clean()
    organisation.save()
    if boroughs is not None:
        organisation.boroughs.set(boroughs)
    return organisation


@records_actor
@transaction.atomic
def organisation_delete(*, actor: User, organisation: Organisation) -> None:
    """Delete an organisation, its memberships and invitations, and its auth group.

    Permission: staff. The group goes last: the organisation protects it while it exists.
    """
    permissions.require(permissions.can_delete_organisation(actor))
    group = organisation.group
    organisation.delete()
    group.delete()


# Memberships -------------------------------------------------------------------------


def _sync_group(user: User, organisation: Organisation) -> None:
    """Keep the organisation's group in step with its memberships."""
    if Membership.objects.filter(user=user, organisation=organisation).exists():
        user.groups.add(organisation.group)
    else:
        user.groups.remove(organisation.group)
    permissions.forget_roles(user)


@records_actor
@transaction.atomic
def membership_add(
    *, actor: User | None, user: User, organisation: Organisation, role: str, job_title: str = ""
) -> Membership:
    """Give `user` a role in `organisation` (idempotent).

    Permission: the organisation's admins or staff; `actor=None` for invitations being
    accepted (the signed link is the permission) and seeding.
    """
    if actor is not None:
        permissions.require(permissions.can_manage_members(actor, organisation))
    membership, created = Membership.objects.get_or_create(
        user=user, organisation=organisation, role=role, defaults={"job_title": job_title, "created_by": actor}
    )
    if created:
        membership.full_clean()
    _sync_group(user, organisation)
    return membership


def _last_admin(membership: Membership) -> bool:
    """True when `membership` is its organisation's only admin role.

    Locks the organisation's admin rows (call inside the writing transaction) so two
    admins demoting each other at the same moment cannot both succeed and leave none.
    """
    if membership.role != Role.ORG_ADMIN:
        return False
    admins = (
        Membership.objects.select_for_update()
        .filter(organisation_id=membership.organisation_id, role=Role.ORG_ADMIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return not set(admins) - {membership.pk}


@records_actor
@transaction.atomic
def membership_change_role(*, actor: User, membership: Membership, role: str) -> Membership:
    """Change a member's role. Permission: org admins or staff. The last admin stays."""
    permissions.require(permissions.can_manage_members(actor, membership.organisation))
    if role == membership.role:
        return membership
    if _last_admin(membership) and not actor.is_staff:
        raise ValidationError("An organisation needs at least one admin: make someone else an admin first.")
    if Membership.objects.filter(user=membership.user, organisation=membership.organisation, role=role).exists():
        raise ValidationError(f"{membership.user} already has the role {Role(role).label}.")
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    permissions.forget_roles(membership.user)
    return membership


@records_actor
@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    """Remove one role of a member. Permission: org admins or staff. The last admin stays."""
    permissions.require(permissions.can_manage_members(actor, membership.organisation))
    if _last_admin(membership) and not actor.is_staff:
        raise ValidationError("An organisation needs at least one admin: make someone else an admin first.")
    user, organisation = membership.user, membership.organisation
    membership.delete()
    _sync_group(user, organisation)


# Invitations -------------------------------------------------------------------------


def invitation_signed_token(invitation: Invitation) -> str:
    return signing.dumps(invitation.pk, salt=INVITATION_SALT)


def invitation_from_token(token: str) -> Invitation | None:
    """The invitation a signed link points to, or None for a forged or garbled link.

    The signature proves the link is ours; whether it is still open is the row's
    business (`expires_at`, `status`), so an expired link can say it expired (410)
    instead of looking like garbage (404).
    """
    try:
        pk = signing.loads(token, salt=INVITATION_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(pk, int):
        return None
    return Invitation.objects.select_related("organisation").filter(pk=pk).first()


@records_actor
@transaction.atomic
def invitation_create(*, actor: User, organisation: Organisation, email: str, role: str) -> Invitation:
    """Invite someone by email to join `organisation` with `role`.

    Permission: org admins or staff. Side effect: the invitation email is sent by a
    Celery task enqueued when this transaction commits.
    """
    from stakeholders.tasks import invitation_send

    permissions.require(permissions.can_manage_members(actor, organisation))
    email = email.strip().lower()
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email, role=role).exists():
        raise ValidationError(f"{email} already has this role in {organisation}.")
    if Invitation.objects.filter(
        organisation=organisation, email__iexact=email, role=role, status=Invitation.Status.PENDING
    ).exists():
        raise ValidationError(f"{email} already has a pending invitation for this role.")
    invitation = Invitation(
        organisation=organisation,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    transaction.on_commit(lambda: invitation_send.delay(invitation.pk))
    return invitation


def invitation_send(*, invitation_id: int) -> bool:
    """Send the invitation email once (idempotent: a re-delivered task sends nothing).

    Called by the Celery task. Returns True when an email went out.
    """
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organisation", "invited_by")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.sent_at is not None or not invitation.is_open:
            return False
        accept_url = settings.SITE_URL.rstrip("/") + reverse(
            "invitation_accept", args=[invitation_signed_token(invitation)]
        )
        context = {"invitation": invitation, "accept_url": accept_url, "days": settings.INVITATION_DAYS}
        send_mail(
            subject=f"You are invited to join {invitation.organisation} on the London mental health portal",
            message=render_to_string("emails/invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[invitation.email],
        )
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["sent_at"])
    return True


@records_actor
@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    permissions.require(permissions.can_manage_members(actor, invitation.organisation))
    if invitation.status != Invitation.Status.PENDING:
        raise ValidationError("Only pending invitations can be revoked.")
    invitation.status = Invitation.Status.REVOKED
    invitation.save(update_fields=["status"])
    return invitation


@transaction.atomic
def invitation_accept(*, user: User, invitation: Invitation) -> Membership:
    """Accept an invitation as `user`. The signed link is the permission; the email must match."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise ValidationError("This invitation is no longer valid. Ask the organisation's admin for a new one.")
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(
            f"This invitation was sent to {invitation.email}. Sign in with that address to accept it."
        )
    membership = membership_add(actor=None, user=user, organisation=invitation.organisation, role=invitation.role)
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["status", "accepted_at", "accepted_by"])
    return membership


def invitations_expire() -> int:
    """Mark pending invitations past their date as expired. Returns how many changed."""
    return Invitation.objects.filter(status=Invitation.Status.PENDING, expires_at__lte=timezone.now()).update(
        status=Invitation.Status.EXPIRED
    )


# People ------------------------------------------------------------------------------


@transaction.atomic
def user_sign_up(
    *, email: str, password: str, display_name: str, lived_experience: str = "", show_lived_experience: bool = False
) -> User | None:
    """Create an account for a service user, carer or invited member. Consent to the terms is recorded.

    Whether the email already has an account is not revealed to the person signing up: the
    caller answers the same either way. A new account's owner is sent a welcome email; an
    existing account's owner is told that someone tried to sign up with their address (and
    how to reset the password), and None is returned; nothing is changed then.
    """
    email = email.strip().lower()
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        make_password(password)  # as long as a new account takes, so timing does not tell either
        transaction.on_commit(lambda: _send_account_email(existing, "emails/sign_up_existing.txt"))
        return None
    user = User(
        email=email,
        display_name=display_name.strip(),
        lived_experience=lived_experience,
        show_lived_experience=show_lived_experience and bool(lived_experience),
        terms_accepted_at=timezone.now(),
        email_verified_at=None,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    transaction.on_commit(lambda: _send_account_email(user, "emails/sign_up_welcome.txt"))
    return user


VERIFY_SALT = "londonmh.stakeholders.email-verify"


def email_verify_token(user: User) -> str:
    """A signed token for the link that confirms `user`'s address (expires: EMAIL_VERIFY_DAYS).

    It names the address as well as the account, so a link sent before the address changed
    does not confirm the new one.
    """
    return signing.TimestampSigner(salt=VERIFY_SALT).sign_object({"u": user.pk, "e": user.email.lower()})


def email_verify(token: str) -> User:
    """Confirm the address a link was sent to. Raises ValidationError (expired or not ours)."""
    try:
        data = signing.TimestampSigner(salt=VERIFY_SALT).unsign_object(
            token, max_age=timedelta(days=settings.EMAIL_VERIFY_DAYS)
        )
    except signing.SignatureExpired as exc:
        raise ValidationError("This link has expired. Sign in and ask for a new one.", code="expired") from exc
    except signing.BadSignature as exc:
        raise ValidationError("This link is not valid. Check you copied all of it.", code="invalid") from exc
    user = User.objects.filter(pk=data.get("u"), email__iexact=data.get("e", "")).first()
    if user is None:
        raise ValidationError("This link is not valid. Check you copied all of it.", code="invalid")
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


@records_actor
def email_verify_resend(*, actor: User) -> bool:
    """Email the confirmation link again; at most once a minute. Returns whether it was sent."""
    if actor.email_verified:
        return False
    key = f"stakeholders:verify-resend:{actor.pk}"
    if not cache.add(key, 1, timeout=60):
        return False
    transaction.on_commit(lambda: _send_account_email(actor, "emails/sign_up_welcome.txt"))
    return True


def _send_account_email(user: User, template: str) -> None:
    """The sign-up email (sent after the commit; a mail failure is logged, never shown: it would tell)."""
    site = settings.SITE_URL.rstrip("/")
    context = {
        "user": user,
        "sign_in_url": site + reverse("login"),
        "reset_url": site + reverse("password_reset"),
        "verify_url": site + reverse("email_verify", args=[email_verify_token(user)]),
        "verify_days": settings.EMAIL_VERIFY_DAYS,
    }
    try:
        send_mail(
            subject="Your account on the London mental health portal",
            message=render_to_string(template, context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    except OSError:
        logger.exception("Could not send the sign-up email to user %s", user.pk)


@records_actor
@transaction.atomic
def user_update_profile(
    *, actor: User, user: User, display_name: str, lived_experience: str, show_lived_experience: bool
) -> User:
    """Change one's own display name and lived-experience settings."""
    if actor.pk != user.pk:
        raise PermissionDenied
    user.display_name = display_name.strip()
    user.lived_experience = lived_experience
    user.show_lived_experience = show_lived_experience and bool(lived_experience)
    user.full_clean()
    user.save(update_fields=["display_name", "lived_experience", "show_lived_experience"])
    return user


# API tokens --------------------------------------------------------------------------


@records_actor
@transaction.atomic
def api_token_create(*, actor: User, name: str, days: int) -> tuple[ApiToken, str]:
    """Create a personal API token. The plain token is returned once and never stored."""
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError({"days": f"Choose between 1 and {settings.API_TOKEN_MAX_DAYS} days."})
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name so you can recognise it later."})
    token, plain = ApiToken.objects.create(user=actor, expiry=timedelta(days=days), name=name)
    return token, plain


@records_actor
@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> None:
    if token.user_id != actor.pk:
        raise PermissionDenied
    token.delete()
