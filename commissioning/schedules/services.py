"""Every write about reporting schedules, and the reminders the daily beat job sends.

Functions are ``thing_verb(*, actor, ...)``, keyword-only and atomic; each records its actor
in the history (``pghistory.context(user=...)``) and raises ValidationError naming the
field at fault. Permission checks are the caller's (``commissioning.schedules.permissions``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from actionplan.models import NotificationKind
from actionplan.voice import services as notification_services
from commissioning.schedules.models import (
    ReminderKind,
    ReportingSchedule,
    ScheduleBorough,
    ScheduleIndicator,
    ScheduleReminder,
)
from kernel.concurrency import update_versioned
from kernel.history import records_actor
from outcomes.models import Indicator, OutcomeValue, ValueStatus, period_label
from outcomes.periods import last_day, next_period, period_start_of
from stakeholders.models import COMMISSIONER_TYPES, Area, AreaLevel, Organisation, Role, User

SCHEDULE_FIELDS = (
    "name",
    "provider",
    "commissioner",
    "period_type",
    "first_period",
    "deadline_days",
    "reminder_days",
    "is_active",
)
NOTIFICATION_KINDS = {
    ReminderKind.DUE: NotificationKind.REPORT_DUE,
    ReminderKind.OVERDUE: NotificationKind.REPORT_OVERDUE,
}


def _check(
    *,
    commissioner: Organisation,
    provider: Organisation,
    period_type: str,
    first_period: dt.date,
    indicators: Sequence[Indicator],
    boroughs: Sequence[Area],
    is_active: bool = True,
    schedule_pk: int | None = None,
) -> None:
    """Rules across models: who sets it, what it expects, where; no value expected twice."""
    errors: dict[str, str] = {}
    if commissioner.type not in COMMISSIONER_TYPES:
        errors["commissioner"] = "Choose an ICB or local-authority commissioning organisation."
    if provider.pk == commissioner.pk:
        errors["provider"] = "Choose the provider that submits the data, not the commissioner."
    if not indicators:
        errors["indicators"] = "Choose at least one indicator the provider must submit."
    else:
        wrong = sorted(i.code for i in indicators if i.period_type != period_type)
        if wrong:
            errors["indicators"] = (
                f"These indicators are not reported every {period_type}: {', '.join(wrong)}. "
                "Choose indicators of one period type, or change how often the return is due."
            )
        retired = sorted(i.code for i in indicators if not i.is_active)
        if retired and not wrong:
            errors["indicators"] = f"These indicators are no longer collected: {', '.join(retired)}."
    if not boroughs:
        errors["boroughs"] = "Choose at least one borough."
    elif any(b.level != AreaLevel.BOROUGH for b in boroughs):
        errors["boroughs"] = "Only boroughs can be chosen."
    else:
        chosen = {b.pk for b in boroughs}
        served = set(provider.boroughs.filter(pk__in=chosen).values_list("pk", flat=True))
        commissioned = set(commissioner.boroughs.filter(pk__in=chosen).values_list("pk", flat=True))
        names = {b.pk: b.name for b in boroughs}
        if chosen - served:
            not_served = ", ".join(sorted(names[p] for p in chosen - served))
            errors["boroughs"] = f"{provider.name} does not serve {not_served}."
        elif chosen - commissioned:
            not_commissioned = ", ".join(sorted(names[p] for p in chosen - commissioned))
            errors["boroughs"] = f"{commissioner.name} does not commission for {not_commissioned}."
    if first_period != period_start_of(period_type, first_period):
        errors["first_period"] = "The first period must start on the first day of a month, quarter or year."
    if not errors and is_active:
        # One value must not be expected by two schedules: completeness would count it twice.
        overlap = (
            ReportingSchedule.objects.filter(
                provider=provider,
                is_active=True,
                indicator_links__indicator__in=[i.pk for i in indicators],
                borough_links__borough__in=[b.pk for b in boroughs],
            )
            .exclude(pk=schedule_pk)
            .values_list("name", flat=True)
            .first()
        )
        if overlap:
            errors["indicators"] = (
                f"“{overlap}” already expects some of these indicators from {provider.name} in some of these "
                "boroughs. Change that schedule, or choose other indicators or boroughs."
            )
    if errors:
        raise ValidationError(errors)


def _set_links(
    schedule: ReportingSchedule, indicators: Sequence[Indicator] | None, boroughs: Sequence[Area] | None
) -> None:
    if indicators is not None:
        wanted = {i.pk for i in indicators}
        ScheduleIndicator.objects.filter(schedule=schedule).exclude(indicator_id__in=wanted).delete()
        have = set(ScheduleIndicator.objects.filter(schedule=schedule).values_list("indicator_id", flat=True))
        ScheduleIndicator.objects.bulk_create(
            [ScheduleIndicator(schedule=schedule, indicator_id=pk) for pk in sorted(wanted - have)]
        )
    if boroughs is not None:
        wanted = {b.pk for b in boroughs}
        ScheduleBorough.objects.filter(schedule=schedule).exclude(borough_id__in=wanted).delete()
        have = set(ScheduleBorough.objects.filter(schedule=schedule).values_list("borough_id", flat=True))
        ScheduleBorough.objects.bulk_create(
            [ScheduleBorough(schedule=schedule, borough_id=pk) for pk in sorted(wanted - have)]
        )


@records_actor
@transaction.atomic
def schedule_create(
    *,
    actor: User | None,
    commissioner: Organisation,
    provider: Organisation,
    name: str,
    period_type: str,
    first_period: dt.date,
    indicators: Sequence[Indicator],
    boroughs: Sequence[Area],
    deadline_days: int = 20,
    reminder_days: int = 5,
    is_active: bool = True,
) -> ReportingSchedule:
    """Set what a provider must submit. Assumes permissions.can_create_schedule and that the actor
    commissions for `commissioner` (permissions.schedule_commissioner_choices)."""
    schedule = ReportingSchedule(
        name=name.strip(),
        commissioner=commissioner,
        provider=provider,
        period_type=period_type,
        first_period=first_period,
        deadline_days=deadline_days,
        reminder_days=reminder_days,
        is_active=is_active,
        created_by=actor,
    )
    schedule.full_clean(exclude=["version"])
    _check(
        commissioner=commissioner,
        provider=provider,
        period_type=period_type,
        first_period=first_period,
        indicators=indicators,
        boroughs=boroughs,
        is_active=is_active,
    )
    with pghistory.context(user=actor.pk if actor else None):
        schedule.save()
        _set_links(schedule, indicators, boroughs)
    return schedule


@records_actor
@transaction.atomic
def schedule_update(
    *,
    actor: User | None,
    schedule: ReportingSchedule,
    expected_version: int,
    indicators: Sequence[Indicator] | None = None,
    boroughs: Sequence[Area] | None = None,
    **values: Any,
) -> ReportingSchedule:
    """Change a schedule if it is still at `expected_version` (else StaleEdit; nothing written).

    Assumes permissions.can_manage_schedule. `values` are fields from SCHEDULE_FIELDS;
    indicators and boroughs, when given, replace the current ones.
    """
    unknown = set(values) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValueError(f"not schedule fields: {sorted(unknown)}")
    draft = ReportingSchedule.objects.select_related("provider", "commissioner").get(pk=schedule.pk)
    for name, value in values.items():
        setattr(draft, name, value.strip() if name == "name" else value)
    draft.full_clean(exclude=["version"])
    _check(
        commissioner=draft.commissioner,
        provider=draft.provider,
        period_type=draft.period_type,
        first_period=draft.first_period,
        indicators=list(indicators) if indicators is not None else list(draft.indicators.all()),
        boroughs=list(boroughs) if boroughs is not None else list(draft.boroughs.all()),
        is_active=draft.is_active,
        schedule_pk=draft.pk,
    )
    with pghistory.context(user=actor.pk if actor else None):
        stored = {name: getattr(draft, name) for name in values}
        if "name" in stored:
            stored["name"] = draft.name
        updated = update_versioned(schedule, expected_version=expected_version, values=stored)
        _set_links(schedule, indicators, boroughs)
    return updated


# Reminders ---------------------------------------------------------------------------------


def _received(schedule: ReportingSchedule, period_start: dt.date) -> int:
    """Values in for the schedule's cells of one period (a rejected value is not in)."""
    return (
        OutcomeValue.objects.filter(
            organisation_id=schedule.provider_id,
            indicator__in=schedule.indicator_links.values("indicator_id"),
            borough__in=schedule.borough_links.values("borough_id"),
            period_start=period_start,
        )
        .exclude(status=ValueStatus.REJECTED)
        .count()
    )


def reminders_due(schedule: ReportingSchedule, today: dt.date) -> list[tuple[dt.date, str]]:
    """The (period, kind) reminders the schedule calls for on `today`, missing values or not.

    A *due* reminder from `reminder_days` before the deadline to the deadline itself (once the
    period has ended); an *overdue* notice after the deadline, for deadlines at most
    SCHEDULE_OVERDUE_NOTICE_DAYS old.
    """
    notice_days = settings.SCHEDULE_OVERDUE_NOTICE_DAYS
    earliest = today - dt.timedelta(days=schedule.deadline_days + notice_days + 370)
    start = max(schedule.first_period, period_start_of(schedule.period_type, earliest))
    found = []
    while last_day(schedule.period_type, start) < today:
        deadline = schedule.deadline(start)
        if deadline - dt.timedelta(days=schedule.reminder_days) <= today <= deadline:
            found.append((start, ReminderKind.DUE))
        elif deadline < today <= deadline + dt.timedelta(days=notice_days):
            found.append((start, ReminderKind.OVERDUE))
        start = next_period(schedule.period_type, start)
    return found


def _submitters(schedule: ReportingSchedule) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, memberships__organisation_id=schedule.provider_id, memberships__role=Role.DATA_SUBMITTER
        )
        .distinct()
        .order_by("pk")
    )


def _reminder_text(schedule: ReportingSchedule, start: dt.date, kind: str, missing: int, expected: int) -> str:
    period = period_label(schedule.period_type, start)
    deadline = schedule.deadline(start)
    values = f"{missing} of {expected} value{'s' if expected != 1 else ''}"
    if kind == ReminderKind.DUE:
        return f"{schedule.name} for {period}: {values} not in yet. Due by {deadline:%-d %B %Y}."
    return f"{schedule.name} for {period} is overdue: {values} not in. It was due by {deadline:%-d %B %Y}."


def schedule_reminders_for(*, schedule_id: int, today: dt.date) -> int:
    """Send the reminders one schedule calls for today, each at most once. Returns how many sent.

    One transaction holding the schedule's row lock: the ScheduleReminder row (unique on
    schedule, period and kind) and the notifications are written together, so a re-run, a
    second worker or a worker killed half way never sends one twice nor loses one. Emails go
    out on commit (actionplan.voice: straight away, in the digest, or not, per person and kind).
    """
    sent = 0
    with transaction.atomic():
        schedule = (
            ReportingSchedule.objects.select_for_update(of=("self",))
            .select_related("provider")
            .filter(pk=schedule_id, is_active=True)
            .first()
        )
        if schedule is None:
            return 0
        wanted = reminders_due(schedule, today)
        if not wanted:
            return 0
        done = set(
            ScheduleReminder.objects.filter(schedule=schedule, period_start__gte=wanted[0][0]).values_list(
                "period_start", "kind"
            )
        )
        counts = ReportingSchedule.objects.filter(pk=schedule.pk).aggregate(
            indicators=Count("indicator_links", distinct=True), boroughs=Count("borough_links", distinct=True)
        )
        expected = counts["indicators"] * counts["boroughs"]
        recipients = None
        url = reverse("schedule_detail", args=[schedule.pk])
        for start, kind in wanted:
            if (start, kind) in done:
                continue
            missing = max(0, expected - _received(schedule, start))
            if not missing:
                continue
            if recipients is None:
                recipients = _submitters(schedule)
            if not recipients:
                # Nobody to tell yet: try again on the next run (an organisation admin may add a submitter).
                continue
            text = _reminder_text(schedule, start, kind, missing, expected)
            for user in recipients:
                notification_services.notify(
                    recipient=user,
                    kind=NOTIFICATION_KINDS[ReminderKind(kind)],
                    text=text,
                    url=url,
                    dedupe_key=f"schedule:{schedule.pk}:{start.isoformat()}:{kind}",
                )
            ScheduleReminder.objects.create(
                schedule=schedule, period_start=start, kind=kind, missing=missing, recipients=len(recipients)
            )
            sent += 1
    return sent


def schedule_reminders_send(*, today: dt.date | None = None) -> int:
    """The daily beat job: every active schedule's reminders, one schedule per transaction."""
    today = today or timezone.localdate()
    total = 0
    for schedule_id in ReportingSchedule.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True):
        total += schedule_reminders_for(schedule_id=schedule_id, today=today)
    return total
