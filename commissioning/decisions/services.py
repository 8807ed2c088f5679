"""Every write about partnership meetings, decisions and stances. Permissions: commissioning.decisions.permissions.

Who is told (actionplan.voice.services.notify, kinds `decision` and `minutes`):
- a new proposal: the people of every member organisation (they may record its stance);
- a stance of block: the partnership's managers (commissioners of its member organisations);
- an outcome recorded (a change of status): the people of every member organisation, the
  owner organisation's among them;
- minutes published (a meeting's minutes first written): its attendees.
Nobody is told of their own act.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from actionplan.models import Action, NotificationKind
from actionplan.voice import services as notification_services
from commissioning.decisions import permissions
from commissioning.decisions.models import (
    NEEDS_REASON,
    TRANSITIONS,
    Decision,
    DecisionStatus,
    Meeting,
    Stance,
    StanceChoice,
)
from commissioning.models import Partnership
from kernel.concurrency import StaleEdit, update_versioned
from kernel.history import records_actor
from stakeholders.models import COMMISSIONER_TYPES, Membership, Organisation, Role, User

MAX_OPTIONS = 6
MAX_REASON = 2000
OUTCOME_NEEDS_OWNER = (DecisionStatus.AGREED, DecisionStatus.DONE)


# Who is told ---------------------------------------------------------------------------------


def _member_org_ids(partnership: Partnership) -> list[int]:
    return list(partnership.members.values_list("organisation_id", flat=True))


def member_people(partnership: Partnership) -> list[User]:
    """Active people with any role in a member organisation, once each."""
    return list(
        User.objects.filter(is_active=True, memberships__organisation_id__in=_member_org_ids(partnership))
        .distinct()
        .order_by("pk")
    )


def managers(partnership: Partnership) -> list[User]:
    """Active commissioners of the member organisations: who manages the partnership."""
    return list(
        User.objects.filter(
            is_active=True,
            memberships__organisation_id__in=_member_org_ids(partnership),
            memberships__role=Role.COMMISSIONER,
            memberships__organisation__type__in=list(COMMISSIONER_TYPES),
        )
        .distinct()
        .order_by("pk")
    )


@records_actor
def _tell(users: Iterable[User], *, actor: User | None, kind: str, text: str, url: str) -> int:
    if len(text) > 300:
        text = text[:299] + "\u2026"
    told = 0
    for user in users:
        if actor is not None and user.pk == actor.pk:
            continue
        notification_services.notify(recipient=user, kind=kind, text=text, url=url)
        told += 1
    return told


def _who(actor: User | None) -> str:
    return actor.display_name if actor is not None else "The partnership"


# Meetings ------------------------------------------------------------------------------------


def _check_attendees(partnership: Partnership, attendees: Sequence[User]) -> None:
    if not attendees:
        return
    allowed = set(
        Membership.objects.filter(
            organisation_id__in=_member_org_ids(partnership), user_id__in=[u.pk for u in attendees]
        ).values_list("user_id", flat=True)
    )
    strangers = [u.display_name for u in attendees if u.pk not in allowed]
    if strangers:
        raise ValidationError(
            {
                "attendees": f"{', '.join(strangers)} is not in a member organisation: "
                "add them under “also attending” instead."
            }
        )


def _tell_minutes(meeting: Meeting, actor: User | None) -> int:
    return _tell(
        meeting.attendees.filter(is_active=True).order_by("pk"),
        actor=actor,
        kind=NotificationKind.MINUTES,
        text=f"The minutes of {meeting.partnership.name}'s “{meeting.title}” ({meeting.date:%-d %B %Y}) are published.",
        url=meeting.get_absolute_url(),
    )


@records_actor
@transaction.atomic
def meeting_create(
    *,
    actor: User | None,
    partnership: Partnership,
    date: dt.date,
    title: str,
    agenda: str = "",
    minutes: str = "",
    attendees: Sequence[User] = (),
    also_attending: str = "",
) -> Meeting:
    """Record a partnership meeting. Assumes permissions.can_manage_partnership.

    Attendees must be people of member organisations; others go in `also_attending`. Minutes
    given now are published: the attendees are told.
    """
    _check_attendees(partnership, attendees)
    meeting = Meeting(
        partnership=partnership,
        date=date,
        title=title.strip(),
        agenda=agenda.strip(),
        minutes=minutes.strip(),
        also_attending=also_attending.strip(),
    )
    meeting.full_clean()
    meeting.save()
    meeting.attendees.set(attendees)
    if meeting.minutes:
        _tell_minutes(meeting, actor)
    return meeting


MEETING_FIELDS = ("date", "title", "agenda", "minutes", "also_attending")


@records_actor
@transaction.atomic
def meeting_update(
    *,
    actor: User | None,
    meeting: Meeting,
    expected_version: int,
    attendees: Sequence[User] | None = None,
    **values: Any,
) -> Meeting:
    """Change a meeting if it is still at `expected_version` (else StaleEdit; nothing written).

    Assumes permissions.can_manage_partnership. Minutes written for the first time are
    published: the attendees (as saved now) are told.
    """
    unknown = set(values) - set(MEETING_FIELDS)
    if unknown:
        raise ValueError(f"not meeting fields: {sorted(unknown)}")
    draft = Meeting.objects.get(pk=meeting.pk)
    if draft.version != expected_version:
        raise StaleEdit(draft, expected_version)
    had_minutes = bool(draft.minutes)
    for name, value in values.items():
        setattr(draft, name, value.strip() if isinstance(value, str) else value)
    if attendees is not None:
        _check_attendees(meeting.partnership, attendees)
    draft.full_clean(exclude=["version"])
    update_versioned(meeting, expected_version=expected_version, values={n: getattr(draft, n) for n in MEETING_FIELDS})
    if attendees is not None:
        meeting.attendees.set(attendees)
    if meeting.minutes and not had_minutes:
        _tell_minutes(meeting, actor)
    return meeting


# Proposals and outcomes ----------------------------------------------------------------------


def _clean_options(options: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for option in options:
        text = (option or "").strip()
        if text and text not in cleaned:
            cleaned.append(text)
    if len(cleaned) == 1:
        raise ValidationError({"options": "Give at least two options, or none."})
    if len(cleaned) > MAX_OPTIONS:
        raise ValidationError({"options": f"Give at most {MAX_OPTIONS} options."})
    if any(len(o) > 200 for o in cleaned):
        raise ValidationError({"options": "Keep each option to 200 characters."})
    return cleaned


@records_actor
@transaction.atomic
def decision_propose(
    *,
    actor: User | None,
    partnership: Partnership,
    title: str,
    text: str,
    options: Iterable[str] = (),
    deadline: dt.date | None = None,
    meeting: Meeting | None = None,
    proposed_at: dt.datetime | None = None,
) -> Decision:
    """Put a proposal to the partnership's members. Assumes permissions.can_manage_partnership.

    The deadline (members record stances until the end of it) may not be in the past; the
    meeting must be one of the partnership's. Tells the people of every member organisation.
    `proposed_at` records a proposal made before it was entered here (carried over from paper
    minutes); it may not be in the future. History still dates the entry itself.
    """
    if proposed_at is not None and proposed_at > timezone.now():
        raise ValidationError({"proposed_at": "A proposal cannot have been made in the future."})
    if deadline is not None and deadline < timezone.localdate():
        raise ValidationError({"deadline": "The deadline for views must be today or in the future."})
    if meeting is not None and meeting.partnership_id != partnership.pk:
        raise ValidationError({"meeting": "Choose one of this partnership's meetings."})
    decision = Decision(
        partnership=partnership,
        meeting=meeting,
        title=title.strip(),
        text=text.strip(),
        options=_clean_options(options),
        deadline=deadline,
        proposed_by=actor,
        created_at=proposed_at or timezone.now(),
    )
    decision.full_clean()
    decision.save()
    by = f" by {deadline:%-d %B %Y}" if deadline else ""
    _tell(
        member_people(partnership),
        actor=actor,
        kind=NotificationKind.DECISION,
        text=f"{_who(actor)} proposed to {partnership.name}: “{decision.title}”. Record your organisation's view{by}.",
        url=decision.get_absolute_url(),
    )
    return decision


@records_actor
@transaction.atomic
def decision_record_outcome(
    *,
    actor: User | None,
    decision: Decision,
    expected_version: int,
    status: str,
    outcome: str = "",
    owner: Organisation | None = None,
    due_date: dt.date | None = None,
    actions: Sequence[Action] | None = None,
) -> Decision:
    """Record (or correct) a decision's outcome if it is still at `expected_version` (else StaleEdit).

    The status moves only along models.TRANSITIONS (or stays); agreed and done need an owner,
    which must be a member; linked actions must be in the partnership's linked plans. Stances
    are kept as they are. Assumes permissions.can_manage_partnership. A change of status tells
    the people of every member organisation.
    """
    current = Decision.objects.select_related("partnership").get(pk=decision.pk)
    if current.version != expected_version:
        # Stale before anything else: the rules are checked against what the writer saw.
        raise StaleEdit(current, expected_version)
    partnership = current.partnership
    old_status = current.status
    if status not in DecisionStatus.values:
        raise ValidationError({"status": "Choose a status."})
    if status != old_status and status not in TRANSITIONS[old_status]:
        allowed = ", ".join(DecisionStatus(s).label.lower() for s in sorted(TRANSITIONS[old_status])) or "nothing"
        raise ValidationError(
            {"status": f"A decision that is {DecisionStatus(old_status).label.lower()} can become {allowed}."}
        )
    if owner is not None and owner.pk not in _member_org_ids(partnership):
        raise ValidationError({"owner": f"{owner.name} is not a member of {partnership.name}."})
    if status in OUTCOME_NEEDS_OWNER and owner is None:
        raise ValidationError({"owner": "Choose the member who carries the decision out."})
    if actions:
        plan_ids = set(partnership.plans.values_list("pk", flat=True))
        if any(a.plan_id not in plan_ids for a in actions):
            raise ValidationError({"actions": "Link actions from the partnership's linked plans only."})
    values: dict[str, Any] = {
        "status": status,
        "outcome": outcome.strip(),
        "owner": owner,
        "due_date": due_date,
        "updated_at": timezone.now(),
    }
    if status != DecisionStatus.PROPOSED and current.decided_at is None:
        values["decided_at"] = timezone.now()
    for name, value in values.items():
        setattr(current, name, value)
    current.full_clean(exclude=["version"])
    update_versioned(decision, expected_version=expected_version, values=values)
    if actions is not None:
        decision.actions.set(actions)
    if status != old_status:
        label = DecisionStatus(status).label.lower()
        who = f" {owner.name} carries it out" + (f" by {due_date:%-d %B %Y}" if due_date else "") if owner else ""
        _tell(
            member_people(partnership),
            actor=actor,
            kind=NotificationKind.DECISION,
            text=f"{partnership.name}: “{current.title}” is {label}.{who + '.' if who else ''}",
            url=current.get_absolute_url(),
        )
    return decision


# Stances -------------------------------------------------------------------------------------


@records_actor
@transaction.atomic
def stance_record(
    *,
    actor: User,
    decision: Decision,
    organisation: Organisation,
    stance: str,
    reason: str = "",
    preferred_option: str = "",
) -> Stance:
    """Record (or change) a member organisation's stance on an open proposal.

    Permission (checked here, as the rule is the feature): the actor belongs to `organisation`,
    a member of the decision's partnership; the proposal is still proposed and its deadline has
    not passed (checked again under a row lock, so a stance cannot slip in after the outcome).
    A reason is required to disagree or block. The previous stance stays in the history. A
    block tells the partnership's managers.
    """
    partnership = decision.partnership
    if not permissions.may_speak_for(actor, partnership, organisation.pk):
        raise PermissionDenied("You may record the stance of your own member organisation only.")
    locked = Decision.objects.select_for_update().get(pk=decision.pk)
    if not locked.is_open():
        raise ValidationError(
            "Views on this proposal are closed: "
            + ("its outcome is recorded." if locked.status != DecisionStatus.PROPOSED else "its deadline has passed.")
        )
    if stance not in StanceChoice.values:
        raise ValidationError({"stance": "Choose agree, abstain, disagree or block."})
    reason = (reason or "").strip()
    if stance in NEEDS_REASON and not reason:
        raise ValidationError(
            {"reason": f"Say why {organisation.name} {'blocks' if stance == 'block' else 'disagrees'}."}
        )
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Keep the reason to {MAX_REASON:,} characters (this has {len(reason):,})."})
    preferred_option = (preferred_option or "").strip()
    if preferred_option and preferred_option not in locked.options:
        raise ValidationError({"preferred_option": "Choose one of the proposal's options."})
    existing = Stance.objects.filter(decision=locked, organisation=organisation).first()
    was_block = existing is not None and existing.stance == StanceChoice.BLOCK
    row = existing or Stance(decision=locked, organisation=organisation)
    row.stance = stance
    row.reason = reason
    row.preferred_option = preferred_option
    row.user = actor
    row.recorded_at = timezone.now()
    row.full_clean(exclude=["decision", "organisation"])
    row.save()
    if stance == StanceChoice.BLOCK and not was_block:
        _tell(
            managers(partnership),
            actor=actor,
            kind=NotificationKind.DECISION,
            text=f"{organisation.name} blocks “{locked.title}” in {partnership.name}. Reason: {reason}",
            url=locked.get_absolute_url(),
        )
    return row
