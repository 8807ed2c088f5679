"""May this user propose, record a stance on, or record the outcome of a partnership decision?

- Partnerships work in the open: anyone, signed in or not, reads their meetings, decisions
  logs and every member's stance and reason.
- The partnership's managers (commissioners of a member organisation, and staff:
  commissioning.permissions.can_manage_partnership) propose decisions, record outcomes and
  manage meetings.
- A stance is a member organisation's view, recorded by its people: anyone with a role in a
  member organisation (stakeholders.Membership, any role) records it for that organisation,
  while the proposal is open. Staff speak for no organisation, so they record none.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import Http404

from commissioning.decisions.models import Decision, Meeting
from commissioning.models import Partnership
from commissioning.permissions import AnyUser, access_for, can_manage_partnership
from stakeholders.models import Organisation

__all__ = [
    "can_manage_partnership",
    "can_record_stance",
    "get_decision_or_404",
    "get_meeting_or_404",
    "stance_organisations",
]


def _member_org_ids(partnership: Partnership) -> set[int]:
    # Uses partnership.members (prefetch it on pages that ask often).
    return {m.organisation_id for m in partnership.members.all()}


def stance_organisation_ids(user: AnyUser, partnership: Partnership) -> list[int]:
    """The member organisations this user may speak for in this partnership (sorted ids)."""
    if not user.is_authenticated or not user.is_active:
        return []
    return sorted(access_for(user).member_orgs & _member_org_ids(partnership))


def stance_organisations(user: AnyUser, partnership: Partnership) -> QuerySet[Organisation]:
    return Organisation.objects.filter(pk__in=stance_organisation_ids(user, partnership)).order_by("name")


def may_speak_for(user: AnyUser, partnership: Partnership, organisation_id: int) -> bool:
    return organisation_id in stance_organisation_ids(user, partnership)


def can_record_stance(user: AnyUser, decision: Decision, today: dt.date | None = None) -> bool:
    """A member organisation's person, while the proposal is open (proposed, deadline not passed)."""
    return decision.is_open(today) and bool(stance_organisation_ids(user, decision.partnership))


def is_member_person(user: AnyUser, partnership: Partnership) -> bool:
    """Whether this user belongs to any member organisation (whatever the proposal's state)."""
    return bool(stance_organisation_ids(user, partnership))


def get_meeting_or_404(partnership: Partnership, meeting_id: int) -> Meeting:
    meeting = Meeting.objects.filter(pk=meeting_id, partnership=partnership).first()
    if meeting is None:
        raise Http404
    meeting.partnership = partnership
    return meeting


def get_decision_or_404(partnership: Partnership, decision_id: int) -> Decision:
    decision = (
        Decision.objects.filter(pk=decision_id, partnership=partnership).select_related("owner", "meeting").first()
    )
    if decision is None:
        raise Http404
    decision.partnership = partnership
    return decision
