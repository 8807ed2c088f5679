"""Every write about value queries. Permissions: commissioning.queries.permissions.

The threads open themselves: `queries_open_or_requery` is wired to
outcomes.services.values_reviewed_hooks (CommissioningConfig.ready), so a query from the review
queue or the review API opens (or reopens) the value's thread in the same transaction, and tells
the provider's data submitters. Rejections are told to them too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

import holidays
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from actionplan.models import NotificationKind
from actionplan.voice import services as notification_services
from commissioning.queries import permissions
from commissioning.queries.models import MessageKind, QueryStatus, ValueQuery, ValueQueryMessage
from kernel.history import records_actor
from outcomes import services as outcome_services
from outcomes.models import Door, OutcomeValue, Submission, ValueStatus
from stakeholders.models import COMMISSIONER_TYPES, Area, Membership, Organisation, Role, User

MAX_TEXT = 2000


@lru_cache(maxsize=8)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    # England's bank holidays (the `holidays` package, offline): ENG covers England and Wales's
    # shared days; London's services follow England's.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_days_after(start: dt.date, days: int) -> dt.date:
    """The day `days` working days after `start` (weekends and England's bank holidays skipped)."""
    day = start
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count


def _text(text: str, *, required: str = "") -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationError({"text": required})
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": f"Keep it to {MAX_TEXT:,} characters (this has {len(text):,})."})
    return text


def _describe(value: OutcomeValue) -> str:
    indicator = value.indicator
    return f"{indicator.name}, {value.borough.name}, {indicator.period_label(value.period_start)}"


def _submitters(provider_id: int, *, besides: User | None = None) -> list[User]:
    users = [
        m.user
        for m in Membership.objects.filter(organisation_id=provider_id, role=Role.DATA_SUBMITTER, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    ]
    return [u for u in users if besides is None or u.pk != besides.pk]


def _tell(users: list[User], *, kind: str, text: str, url: str) -> int:
    if len(text) > 300:
        text = text[:299] + "\u2026"
    for user in users:
        notification_services.notify(recipient=user, kind=kind, text=text, url=url)
    return len(users)


def _acting_for(actor: User, value: OutcomeValue) -> Organisation | None:
    return (
        Organisation.objects.filter(
            memberships__user=actor,
            memberships__role=Role.COMMISSIONER,
            type__in=list(COMMISSIONER_TYPES),
            boroughs=value.borough_id,
        )
        .order_by("name", "pk")
        .first()
    )


# Opened from the review queue ----------------------------------------------------------------


@records_actor
def queries_open_or_requery(*, actor: User, status: str, message: str, value_ids: list[int]) -> int:
    """The review hook: open (or reopen) a thread per queried value; tell the providers.

    A value whose earlier query is not resolved (corrected, then queried again) gets a
    "queried again" message on that thread, which opens again; its service level stands.
    Rejections open no thread: the provider is told, with the reason. Returns the threads touched.
    """
    values = list(
        OutcomeValue.objects.filter(pk__in=value_ids)
        .select_related("indicator", "borough", "organisation", "reviewed_for")
        .order_by("organisation_id", "indicator__name", "-period_start", "borough__name")
    )
    if status in (ValueStatus.REJECTED, ValueStatus.APPROVED):
        _tell_providers_of_decision(actor, status, message, values)
        return 0
    if status != ValueStatus.QUERIED:
        return 0
    now = timezone.now()
    due = working_days_after(timezone.localdate(), settings.VALUE_QUERY_WORKING_DAYS)
    open_threads = {
        q.value_id: q
        for q in ValueQuery.objects.select_for_update()
        .filter(value_id__in=[v.pk for v in values])
        .exclude(status=QueryStatus.RESOLVED)
    }
    touched: list[ValueQuery] = []
    for value in values:
        query = open_threads.get(value.pk)
        if query is None:
            query = ValueQuery.objects.create(
                value=value,
                provider_id=value.organisation_id,
                commissioner=value.reviewed_for,
                opened_by=actor,
                opened_at=now,
                due_on=due,
            )
            kind = MessageKind.QUERY
        else:
            query.status = QueryStatus.OPEN
            query.save(update_fields=["status"])
            kind = MessageKind.REQUERY
        ValueQueryMessage.objects.create(query=query, author=actor, kind=kind, text=message, created_at=now)
        query.value = value
        touched.append(query)
    by_provider: dict[int, list[ValueQuery]] = {}
    for query in touched:
        by_provider.setdefault(query.provider_id, []).append(query)
    for provider_id, queries in by_provider.items():
        first = queries[0]
        who = actor.display_name + (f" ({first.commissioner.name})" if first.commissioner else "")
        more = f" and {len(queries) - 1} more" if len(queries) > 1 else ""
        count = f"{len(queries)} value{'s' if len(queries) != 1 else ''}"
        url = reverse("value_query_detail", args=[first.pk]) if len(queries) == 1 else reverse("value_query_list")
        _tell(
            _submitters(provider_id, besides=actor),
            kind=NotificationKind.DATA_REVIEW,
            text=f"{who} queried {count} from {first.value.organisation.name} ({_describe(first.value)}{more}), "
            f"to be answered by {first.due_on:%-d %B %Y}. Reason: {message}",
            url=url,
        )
    return len(touched)


def _tell_providers_of_decision(actor: User, status: str, message: str, values: list[OutcomeValue]) -> None:
    """Approvals and rejections: one notice per provider per review, naming the first value."""
    verb = "approved" if status == ValueStatus.APPROVED else "rejected"
    by_provider: dict[int, list[OutcomeValue]] = {}
    for value in values:
        by_provider.setdefault(value.organisation_id, []).append(value)
    for provider_id, decided in by_provider.items():
        first = decided[0]
        who = actor.display_name + (f" ({first.reviewed_for.name})" if first.reviewed_for else "")
        more = f" and {len(decided) - 1} more" if len(decided) > 1 else ""
        count = f"{len(decided)} value{'s' if len(decided) != 1 else ''}"
        reason = f" Reason: {message}" if status == ValueStatus.REJECTED else ""
        _tell(
            _submitters(provider_id, besides=actor),
            kind=NotificationKind.DATA_REVIEW,
            text=f"{who} {verb} {count} from {first.organisation.name} ({_describe(first)}{more}).{reason}",
            url=f"{reverse('value_list')}?status={status}",
        )


def reviewers_tell_of_submission(*, submission: Submission, written: dict[int, int]) -> int:
    """The submission hook: tell the commissioners of the boroughs a submission wrote values for
    (`written`: how many in each borough, by id, from the import's own counts) that those values
    wait for their review. One notification per commissioner per submission (idempotent by its
    dedupe key, should the submission be processed again). Returns how many.

    The counts come with the submission rather than from counting its values again: that read
    every stored value (the submission is not indexed), 2.3 s of an 11.5 s million-row import."""
    names = dict(Area.objects.filter(pk__in=[b for b, n in written.items() if n]).values_list("pk", "name"))
    by_borough = {borough_id: (names[borough_id], written[borough_id]) for borough_id in names}
    if not by_borough:
        return 0
    reviewers = (
        Membership.objects.filter(
            role=Role.COMMISSIONER,
            organisation__type__in=list(COMMISSIONER_TYPES),
            organisation__boroughs__in=list(by_borough),
            user__is_active=True,
        )
        .values_list("user_id", "organisation__boroughs")
        .distinct()
    )
    theirs: dict[int, set[int]] = {}
    for user_id, borough_id in reviewers:
        if borough_id in by_borough:
            theirs.setdefault(user_id, set()).add(borough_id)
    users = User.objects.in_bulk(list(theirs))
    made = 0
    for user_id, boroughs in sorted(theirs.items()):
        if user_id == submission.submitted_by_id:
            continue
        count = sum(by_borough[b][1] for b in boroughs)
        names = sorted(by_borough[b][0] for b in boroughs)
        where = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        made += (
            notification_services.notify(
                recipient=users[user_id],
                kind=NotificationKind.TO_REVIEW,
                text=f"{submission.organisation.name} sent {count:,} value{'s' if count != 1 else ''} for {where}, "
                "waiting for your review.",
                url=reverse("review_queue"),
                dedupe_key=f"to_review:{submission.pk}",
            )
            is not None
        )
    return made


# The provider's side -------------------------------------------------------------------------


def _locked(query: ValueQuery) -> ValueQuery:
    """The query, locked for this transaction, refused when it is already resolved."""
    fresh = ValueQuery.objects.select_for_update().get(pk=query.pk)
    if fresh.status == QueryStatus.RESOLVED:
        raise ValidationError("This query has been resolved: nothing more can be added to it.")
    return fresh


def _tell_commissioner(query: ValueQuery, actor: User, what: str) -> None:
    value = query.value
    _tell(
        [query.opened_by] if query.opened_by.is_active and query.opened_by.pk != actor.pk else [],
        kind=NotificationKind.QUERY_ANSWER,
        text=f"{actor.display_name} ({query.provider.name}) {what} your query on {_describe(value)}.",
        url=reverse("value_query_detail", args=[query.pk]),
    )


@records_actor
@transaction.atomic
def query_reply(*, actor: User, query: ValueQuery, text: str) -> ValueQueryMessage:
    """The provider answers in words. Permission: can_answer (the provider's data submitters)."""
    if not permissions.can_answer(actor, query):
        raise PermissionDenied
    text = _text(text, required="Write your reply to the commissioner.")
    fresh = _locked(query)
    message = ValueQueryMessage.objects.create(query=fresh, author=actor, kind=MessageKind.REPLY, text=text)
    fresh.status = QueryStatus.ANSWERED
    fresh.save(update_fields=["status"])
    _tell_commissioner(query, actor, "replied to")
    return message


@records_actor
@transaction.atomic
def query_correct(
    *, actor: User, query: ValueQuery, numerator: Decimal, denominator: int | None, note: str = "", text: str = ""
) -> ValueQueryMessage:
    """The provider corrects the value from the thread: an ordinary amended submission, linked.

    The value goes back to `submitted` for review (as any change does). A correction the import
    rejects raises ValidationError with its reason and saves nothing. Permission: can_answer.
    """
    if not permissions.can_answer(actor, query):
        raise PermissionDenied
    text = _text(text)
    fresh = _locked(query)
    value = OutcomeValue.objects.select_related("indicator", "borough").get(pk=fresh.value_id)
    submission = outcome_services.submission_create(
        actor=actor,
        organisation=fresh.provider,
        door=Door.FORM,
        rows=[
            {
                "indicator_code": value.indicator.code,
                "borough_code": value.borough.code,
                "period": value.indicator.period_label(value.period_start),
                "numerator": format(Decimal(numerator).normalize(), "f"),
                "denominator": "" if denominator is None else str(denominator),
                "note": note if note else value.note,
            }
        ],
        filename=f"correction for query {fresh.pk}",
        atomic=True,
        run_inline=True,
    )
    if submission.status != Submission.Status.COMPLETED or submission.rejected_count:
        problems = [i.message for i in submission.issues.filter(severity="error")] or [submission.message]
        raise ValidationError({"numerator": problems})
    if not (submission.created_count or submission.updated_count):
        raise ValidationError({"numerator": "That is the value already stored: change it, or reply instead."})
    message = ValueQueryMessage.objects.create(
        query=fresh, author=actor, kind=MessageKind.CORRECTION, text=text, submission=submission
    )
    fresh.status = QueryStatus.ANSWERED
    fresh.save(update_fields=["status"])
    _tell_commissioner(query, actor, "corrected the value in")
    return message


# The commissioner's side ---------------------------------------------------------------------


@records_actor
@transaction.atomic
def query_requery(*, actor: User, query: ValueQuery, text: str) -> ValueQueryMessage:
    """Ask again. A corrected value (back to `submitted`) is queried through the review service,
    which reopens this thread; otherwise the thread reopens here. Permission: can_resolve."""
    if not permissions.can_resolve(actor, query):
        raise PermissionDenied
    text = _text(text, required="Say what the provider should check now.")
    fresh = _locked(query)
    value = OutcomeValue.objects.get(pk=fresh.value_id)
    if value.status == ValueStatus.SUBMITTED:
        outcome_services.outcome_values_review(
            actor=actor, value_ids=[value.pk], status=ValueStatus.QUERIED, message=text
        )
        return fresh.messages.order_by("-pk").first()
    message = ValueQueryMessage.objects.create(query=fresh, author=actor, kind=MessageKind.REQUERY, text=text)
    fresh.status = QueryStatus.OPEN
    fresh.save(update_fields=["status"])
    value_now = OutcomeValue.objects.select_related("indicator", "borough", "organisation").get(pk=value.pk)
    _tell(
        _submitters(fresh.provider_id, besides=actor),
        kind=NotificationKind.DATA_REVIEW,
        text=f"{actor.display_name} queried again {_describe(value_now)}: {text}",
        url=reverse("value_query_detail", args=[fresh.pk]),
    )
    return message


@records_actor
@transaction.atomic
def query_resolve(*, actor: User, query: ValueQuery, text: str = "", approve: bool = False) -> ValueQueryMessage:
    """Close the thread, optionally approving the value (if it still waits for review).

    Permission: can_resolve (a commissioner of the value's borough).
    """
    if not permissions.can_resolve(actor, query):
        raise PermissionDenied
    text = _text(text)
    fresh = _locked(query)
    now = timezone.now()
    message = ValueQueryMessage.objects.create(
        query=fresh, author=actor, kind=MessageKind.RESOLUTION, text=text, created_at=now
    )
    fresh.status = QueryStatus.RESOLVED
    fresh.resolved_at = now
    fresh.save(update_fields=["status", "resolved_at"])
    approved = 0
    if approve:
        approved = outcome_services.outcome_values_review(
            actor=actor, value_ids=[fresh.value_id], status=ValueStatus.APPROVED
        )
    value = OutcomeValue.objects.select_related("indicator", "borough").get(pk=fresh.value_id)
    outcome = " and approved the value" if approved else ""
    _tell(
        _submitters(fresh.provider_id, besides=actor),
        kind=NotificationKind.DATA_REVIEW,
        text=f"{actor.display_name} resolved the query on {_describe(value)}{outcome}." + (f" {text}" if text else ""),
        url=reverse("value_query_detail", args=[fresh.pk]),
    )
    return message


@records_actor
def query_post(*, actor: User, query: ValueQuery, kind: str, **data) -> ValueQueryMessage:
    """Post one message of `kind` to the thread: the page's four forms and the API's one endpoint.

    reply (text) and correction (numerator, denominator, note, text) by the provider's data
    submitters; requery (text) and resolution (text, approve) by the borough's commissioners.
    """
    if kind == MessageKind.REPLY:
        return query_reply(actor=actor, query=query, text=data.get("text", ""))
    if kind == MessageKind.CORRECTION:
        return query_correct(
            actor=actor,
            query=query,
            numerator=data["numerator"],
            denominator=data.get("denominator"),
            note=data.get("note", ""),
            text=data.get("text", ""),
        )
    if kind == MessageKind.REQUERY:
        return query_requery(actor=actor, query=query, text=data.get("text", ""))
    if kind == MessageKind.RESOLUTION:
        return query_resolve(actor=actor, query=query, text=data.get("text", ""), approve=data.get("approve", False))
    raise ValueError(f"no such message kind: {kind}")
