"""Every write about a plan's commitments, signatures, representatives and action co-owners.

Each service assumes the caller asked ``actionplan.commitments.permissions`` (views and the API
ask the same functions); the docstrings say which question. Every write is tracked by
django-pghistory and names its actor (``records_actor``).

**Fingerprints.** A partner's signature stores :func:`fingerprint` of the partner's commitments
to the plan when it signed: for each commitment its key step, its stated contribution and the
actions it links. Any change to any of them (a new commitment, an edit, a removed link, a
deleted commitment) gives a different fingerprint, so the signature shows as stale ("needs a
new signature") until an accountable officer signs again. A representative's co-signature
stores the fingerprint of the whole matrix (every partner's commitments).

Who is told (``actionplan.voice.services.notify``, kind ``commitment``):
- a partner's accountable officers, when a change leaves their current signature stale, and
  when a plan manager asks the partners that have not signed to sign;
- the plan's managers, when a partner signs.
Nobody is told of their own act.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from actionplan import permissions as plan_permissions
from actionplan.commitments import permissions
from actionplan.models import (
    Action,
    ActionCoOwner,
    Commitment,
    CommitmentAction,
    KeyStep,
    NotificationKind,
    PartnerSignOff,
    Plan,
    PlanGroupObjectPermission,
    PlanRepresentative,
    PlanUserObjectPermission,
)
from kernel.concurrency import StaleEdit, delete_versioned, update_versioned
from kernel.history import records_actor
from stakeholders.models import Membership, Organisation, Role, User

MAX_CONTRIBUTION = 2000


# Fingerprints ----------------------------------------------------------------------------------


def fingerprint(commitments: Iterable[Commitment]) -> str:
    """A SHA-256 of what the commitments say: step, contribution and linked action ids, in order.

    Reads ``commitment.action_links`` (prefetch it) and ``commitment.key_step_id``. Empty
    commitments fingerprint to the hash of an empty list, never to "".
    """
    rows = sorted(
        [
            c.organisation_id,
            c.key_step_id,
            c.contribution.strip(),
            sorted(link.action_id for link in c.action_links.all()),
        ]
        for c in commitments
    )
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def _commitments(plan: Plan, organisation: Organisation | None = None) -> list[Commitment]:
    qs = Commitment.objects.filter(plan=plan).prefetch_related("action_links").order_by()
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return list(qs)


def partner_fingerprint(plan: Plan, organisation: Organisation) -> str:
    return fingerprint(_commitments(plan, organisation))


def matrix_fingerprint(plan: Plan) -> str:
    return fingerprint(_commitments(plan))


# Who is told -----------------------------------------------------------------------------------


def accountable_officers(organisation: Organisation) -> list[User]:
    """Active members holding an accountable role in the organisation (permissions.ACCOUNTABLE_ROLES)."""
    return list(
        User.objects.filter(
            is_active=True,
            memberships__organisation=organisation,
            memberships__role__in=sorted(permissions.ACCOUNTABLE_ROLES),
        )
        .distinct()
        .order_by("pk")
    )


def plan_managers(plan: Plan) -> list[User]:
    """Active people holding ``manage_plan`` on the plan, themselves or through their organisation."""
    own = PlanUserObjectPermission.objects.filter(content_object=plan, permission__codename=plan_permissions.MANAGE)
    groups = PlanGroupObjectPermission.objects.filter(content_object=plan, permission__codename=plan_permissions.MANAGE)
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(pk__in=own.values("user_id")) | Q(groups__in=groups.values("group_id")))
        .distinct()
        .order_by("pk")
    )


def _tell(users: Iterable[User], *, actor: User | None, text: str, plan: Plan) -> int:
    from actionplan.voice.services import notify

    url = reverse("plan_commitments", args=[plan.slug])
    told = 0
    for user in users:
        if actor is not None and user.pk == actor.pk:
            continue
        notify(recipient=user, kind=NotificationKind.COMMITMENT, text=text, url=url, plan=plan)
        told += 1
    return told


def _tell_if_now_stale(*, actor: User, plan: Plan, organisation: Organisation, before: str) -> None:
    """After a change to a partner's commitments: tell its accountable officers if it left a current signature stale."""
    sign_off = PartnerSignOff.objects.filter(plan=plan, organisation=organisation).first()
    if sign_off is None or not sign_off.is_signed or sign_off.fingerprint != before:
        return
    if partner_fingerprint(plan, organisation) == before:
        return
    _tell(
        accountable_officers(organisation),
        actor=actor,
        plan=plan,
        text=f"{organisation.name}'s commitments to “{plan.title}” changed after they were signed: "
        "they need a new signature.",
    )


# Commitments -----------------------------------------------------------------------------------


def _check_partner(plan: Plan, organisation: Organisation) -> None:
    if organisation.pk not in permissions.partner_ids(plan):
        raise ValidationError({"organisation": f"{organisation.name} is not a partner in this plan."})


def _check_actions(plan: Plan, organisation: Organisation, actions: Sequence[Action]) -> None:
    foreign = [a.title for a in actions if a.plan_id != plan.pk]
    if foreign:
        raise ValidationError({"actions": f"Not an action of this plan: {', '.join(foreign)}."})
    co_owned = set(
        ActionCoOwner.objects.filter(organisation=organisation, action__in=list(actions)).values_list(
            "action_id", flat=True
        )
    )
    strangers = [a.title for a in actions if a.owner_organisation_id != organisation.pk and a.pk not in co_owned]
    if strangers:
        raise ValidationError(
            {
                "actions": f"{organisation.name} neither owns nor co-owns: {', '.join(strangers)}. "
                "Add it as a co-owner first."
            }
        )


@records_actor
@transaction.atomic
def commitment_save(
    *,
    actor: User,
    plan: Plan,
    organisation: Organisation,
    key_step: KeyStep,
    contribution: str = "",
    actions: Sequence[Action] = (),
    expected_version: int | None = None,
    create_only: bool = False,
) -> Commitment:
    """Record or change what a partner commits to under a key step (one commitment per cell).

    Permission: ``can_record_for(actor, plan, organisation)``. ``expected_version`` is the
    version the writer started from when changing an existing commitment: a stale one raises
    StaleEdit and writes nothing. ``create_only`` says the writer saw an empty cell: if someone
    recorded it meanwhile, theirs is kept and a ValidationError says so (never overwritten). A
    change that leaves the partner's signature stale tells its accountable officers.
    """
    _check_partner(plan, organisation)
    contribution = contribution.strip()
    actions = list(actions)
    if not contribution and not actions:
        raise ValidationError({"contribution": "Say what your organisation will do, or link an action it owns."})
    if len(contribution) > MAX_CONTRIBUTION:
        raise ValidationError({"contribution": f"Keep it to {MAX_CONTRIBUTION} characters."})
    _check_actions(plan, organisation, actions)
    before = partner_fingerprint(plan, organisation)
    commitment = (
        Commitment.objects.select_for_update().filter(plan=plan, organisation=organisation, key_step=key_step).first()
    )
    now = timezone.now()
    if commitment is not None and create_only:
        raise ValidationError(
            "Someone recorded this commitment a moment ago: check the matrix and change theirs if you need to."
        )
    if commitment is None:
        if expected_version is not None:
            # It was there when the writer loaded it and someone removed it since.
            raise ValidationError("Someone removed this commitment meanwhile: check the matrix and record it again.")
        commitment = Commitment(
            plan=plan, organisation=organisation, key_step=key_step, contribution=contribution, recorded_by=actor
        )
        commitment.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():  # a savepoint: someone recording the same cell at the same moment
                commitment.save()
        except IntegrityError:
            raise ValidationError(
                "Someone recorded this commitment a moment ago: check the matrix and change theirs if you need to."
            ) from None
    else:
        if expected_version is not None and commitment.version != expected_version:
            raise StaleEdit(commitment, expected_version)
        update_versioned(
            commitment,
            expected_version=commitment.version,
            values={"contribution": contribution, "recorded_by": actor, "updated_at": now},
        )
    wanted = {a.pk for a in actions}
    CommitmentAction.objects.filter(commitment=commitment).exclude(action_id__in=wanted).delete()
    have = set(CommitmentAction.objects.filter(commitment=commitment).values_list("action_id", flat=True))
    CommitmentAction.objects.bulk_create(
        [CommitmentAction(commitment=commitment, action_id=pk) for pk in sorted(wanted - have)]
    )
    _tell_if_now_stale(actor=actor, plan=plan, organisation=organisation, before=before)
    return commitment


@records_actor
@transaction.atomic
def commitment_delete(*, actor: User, commitment: Commitment, expected_version: int) -> None:
    """Remove a commitment (refused when stale). Permission: ``can_record_for`` its organisation.

    A partner's signature that covered it becomes stale; its accountable officers are told.
    """
    plan, organisation = commitment.plan, commitment.organisation
    before = partner_fingerprint(plan, organisation)
    delete_versioned(commitment, expected_version=expected_version)
    _tell_if_now_stale(actor=actor, plan=plan, organisation=organisation, before=before)


# Signatures ------------------------------------------------------------------------------------


def _role_label(user: User, organisation: Organisation) -> str:
    memberships = Membership.objects.filter(
        user=user, organisation=organisation, role__in=sorted(permissions.ACCOUNTABLE_ROLES)
    ).order_by("role")
    titles = [m.job_title for m in memberships if m.job_title]
    if titles:
        return titles[0][:120]
    return ", ".join(Role(m.role).label for m in memberships)[:120]


@records_actor
@transaction.atomic
def commitments_sign(*, actor: User, plan: Plan, organisation: Organisation) -> PartnerSignOff:
    """The partner's accountable officer signs its commitments to the plan as they are now.

    Permission: ``can_sign_for(actor, plan, organisation)``. Refused when the partner has
    recorded no commitment. The plan's managers are told.
    """
    _check_partner(plan, organisation)
    commitments = _commitments(plan, organisation)
    if not commitments:
        raise ValidationError(f"{organisation.name} has recorded no commitments to sign: record at least one first.")
    # One write per signature, so the history holds one event for it.
    sign_off = PartnerSignOff.objects.select_for_update().filter(plan=plan, organisation=organisation).first()
    if sign_off is None:
        sign_off = PartnerSignOff(plan=plan, organisation=organisation)
    sign_off.signed_by = actor
    sign_off.signed_at = timezone.now()
    sign_off.signed_as = _role_label(actor, organisation)
    sign_off.fingerprint = fingerprint(commitments)
    sign_off.full_clean()
    sign_off.save()
    _tell(
        plan_managers(plan),
        actor=actor,
        plan=plan,
        text=f"{actor.display_name} signed {organisation.name}'s commitments to “{plan.title}”.",
    )
    return sign_off


@records_actor
@transaction.atomic
def sign_off_waive(*, actor: User, plan: Plan, organisation: Organisation, reason: str) -> PartnerSignOff | None:
    """A plan manager records why a partner has not signed (a blank reason clears it).

    Permission: ``can_waive``. The reason lets the plan become active without that partner's
    signature (``actionplan.services.plan_change_status`` asks ``selectors.activation_blockers``);
    it stays on the matrix and in the history.
    """
    _check_partner(plan, organisation)
    reason = reason.strip()
    sign_off = PartnerSignOff.objects.select_for_update().filter(plan=plan, organisation=organisation).first()
    if not reason:
        if sign_off is None:
            return None
        sign_off.waiver_reason, sign_off.waived_by, sign_off.waived_at = "", None, None
    else:
        if sign_off is None:
            sign_off = PartnerSignOff(plan=plan, organisation=organisation)
        sign_off.waiver_reason, sign_off.waived_by, sign_off.waived_at = reason, actor, timezone.now()
    sign_off.full_clean()
    sign_off.save()
    return sign_off


@records_actor
@transaction.atomic
def sign_requests_send(*, actor: User, plan: Plan) -> int:
    """Ask the accountable officers of every partner without a current signature to sign.

    Permission: ``can_ask_to_sign``. Returns how many people were told.
    """
    from actionplan.commitments import selectors

    told = 0
    for row in selectors.sign_off_rows(plan):
        if row.state != selectors.SIGNED:
            told += _tell(
                accountable_officers(row.organisation),
                actor=actor,
                plan=plan,
                text=f"{actor.display_name} asks you to sign {row.organisation.name}'s commitments to “{plan.title}”.",
            )
    return told


# Representatives -------------------------------------------------------------------------------


def _represent_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="actionplan", codename=plan_permissions.REPRESENT)


@records_actor
@transaction.atomic
def representative_add(*, actor: User, plan: Plan, user: User) -> PlanRepresentative:
    """Name a service user or carer as a lived-experience representative on the plan.

    Permission: ``can_manage_representatives``. Only people whose profile says they use or
    have used services, or care for someone who does, may be named. Grants ``represent_plan``
    (they see the draft and comment first).
    """
    if not user.has_lived_experience or not user.is_active:
        raise ValidationError(
            {"user": f"{user.display_name} has not said on their profile that they are a service user or carer."}
        )
    if PlanRepresentative.objects.filter(plan=plan, user=user).exists():
        raise ValidationError(
            {"user": f"{user.display_name} already represents service users and carers on this plan."}
        )
    representative = PlanRepresentative(plan=plan, user=user, lived_experience=user.lived_experience, added_by=actor)
    representative.full_clean()
    representative.save()
    PlanUserObjectPermission.objects.get_or_create(user=user, permission=_represent_permission(), content_object=plan)
    plan_permissions.forget_plan_perms(user)
    return representative


@records_actor
@transaction.atomic
def representative_remove(*, actor: User, representative: PlanRepresentative) -> None:
    """Stop naming someone as a representative and take back their ``represent_plan`` grant.

    Permission: ``can_manage_representatives``. Other grants they hold stay.
    """
    PlanUserObjectPermission.objects.filter(
        user_id=representative.user_id, content_object_id=representative.plan_id, permission=_represent_permission()
    ).delete()
    representative.delete()


@records_actor
@transaction.atomic
def matrix_cosign(*, actor: User, plan: Plan) -> PlanRepresentative:
    """A representative co-signs the whole commitment matrix as it is now. Permission: ``can_cosign``."""
    representative = PlanRepresentative.objects.select_for_update().filter(plan=plan, user=actor).first()
    if representative is None:
        raise ValidationError("Only the plan's named representatives co-sign its commitments.")
    commitments = _commitments(plan)
    if not commitments:
        raise ValidationError("No partner has recorded a commitment yet: there is nothing to co-sign.")
    representative.cosigned_at = timezone.now()
    representative.cosigned_fingerprint = fingerprint(commitments)
    representative.save(update_fields=["cosigned_at", "cosigned_fingerprint"])
    _tell(
        plan_managers(plan),
        actor=actor,
        plan=plan,
        text=f"{actor.display_name}, a lived-experience representative, co-signed the commitments to “{plan.title}”.",
    )
    return representative


# Co-owners of an action ------------------------------------------------------------------------


@records_actor
@transaction.atomic
def co_owner_add(*, actor: User, action: Action, organisation: Organisation, share: str) -> ActionCoOwner:
    """Make another organisation accountable for a share of an action. Permission: ``can_manage_co_owners``."""
    if organisation.pk == action.owner_organisation_id:
        raise ValidationError({"organisation": f"{organisation.name} already owns this action."})
    if ActionCoOwner.objects.filter(action=action, organisation=organisation).exists():
        raise ValidationError({"organisation": f"{organisation.name} already co-owns this action."})
    co_owner = ActionCoOwner(action=action, organisation=organisation, share=share.strip())
    co_owner.full_clean()
    co_owner.save()
    return co_owner


@records_actor
@transaction.atomic
def co_owner_remove(*, actor: User, co_owner: ActionCoOwner) -> None:
    """Remove a co-owner. Its commitments' links to the action go too (their signatures go stale).

    Permission: ``can_manage_co_owners``.
    """
    action, organisation = co_owner.action, co_owner.organisation
    links = CommitmentAction.objects.filter(
        action=action, commitment__organisation=organisation, commitment__plan_id=action.plan_id
    )
    if links.exists():
        before = partner_fingerprint(action.plan, organisation)
        links.delete()
        _tell_if_now_stale(actor=actor, plan=action.plan, organisation=organisation, before=before)
    co_owner.delete()
