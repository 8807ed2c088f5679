"""Every "may this user ...?" about reporting schedules and completeness.

- Commissioners (commissioner role in an ICB or local-authority organisation) set schedules
  for their own organisation; the schedule's commissioning organisation's commissioners (and
  staff) change it.
- A provider sees its own schedules: any member of the provider organisation reads them.
- A commissioner reads every schedule that expects data for a borough they commission.
- Anyone else gets a 404 for a schedule (its existence must not leak).
- Completeness: commissioners see the cells in the boroughs they commission, providers their
  own organisation's cells (data submitters), staff everything; other
  signed-in people get 403.

Answers build on ``commissioning.permissions.access_for`` (memberships read once a request).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from commissioning.permissions import access_for, commissioner_organisation_choices
from commissioning.schedules.models import ReportingSchedule, ScheduleBorough
from outcomes.permissions import commissioned_boroughs
from stakeholders.models import Membership, Role, User
from stakeholders.permissions import require

AnyUser = User | AnonymousUser


def can_create_schedule(user: AnyUser) -> bool:
    return user.is_authenticated and (user.is_staff or bool(access_for(user).commissioner_orgs))


def schedule_commissioner_choices(user: AnyUser):
    """Commissioning organisations this user may set schedules for."""
    return commissioner_organisation_choices(user)


def can_manage_schedule(user: AnyUser, schedule: ReportingSchedule) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_staff or schedule.commissioner_id in access_for(user).commissioner_orgs


def readable_q(user: AnyUser) -> Q:
    """Schedules this user may read, as a filter on ReportingSchedule."""
    access = access_for(user)
    in_my_boroughs = Exists(
        ScheduleBorough.objects.filter(schedule=OuterRef("pk"), borough__in=commissioned_boroughs(user).values("pk"))
    )
    return Q(commissioner__in=access.commissioner_orgs) | Q(provider__in=access.member_orgs) | Q(in_my_boroughs)


def visible_schedules(user: AnyUser) -> QuerySet[ReportingSchedule]:
    if not user.is_authenticated:
        return ReportingSchedule.objects.none()
    if user.is_staff:
        return ReportingSchedule.objects.all()
    return ReportingSchedule.objects.filter(readable_q(user))


def get_schedule_for_user_or_404(user: AnyUser, pk: int, *, write: bool = False) -> ReportingSchedule:
    """A schedule this user may read (else 404); with `write`, one they may change (else 403)."""
    schedule = visible_schedules(user).select_related("provider", "commissioner", "created_by").filter(pk=pk).first()
    if schedule is None:
        raise Http404
    if write:
        require(can_manage_schedule(user, schedule))
    return schedule


@dataclass(frozen=True)
class CompletenessScope:
    """Whose cells a person sees: everything (staff), or these boroughs and these providers."""

    everything: bool
    borough_ids: tuple[int, ...]
    provider_ids: tuple[int, ...]


def completeness_scope(user: AnyUser) -> CompletenessScope | None:
    """None when the person may not see completeness at all."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return CompletenessScope(True, (), ())
    boroughs = tuple(commissioned_boroughs(user).order_by("pk").values_list("pk", flat=True))
    providers = tuple(
        Membership.objects.filter(user=user, role=Role.DATA_SUBMITTER)
        .order_by("organisation_id")
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    if not boroughs and not providers:
        return None
    return CompletenessScope(False, boroughs, providers)


def can_view_completeness(user: AnyUser) -> bool:
    return completeness_scope(user) is not None
