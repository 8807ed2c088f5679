"""Reads for value queries, scoped to the user (permissions.visible_queries)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from commissioning.queries import permissions
from commissioning.queries.models import QueryStatus, ValueQuery, ValueQueryMessage

# The list's filters: what each shows.
FILTERS = {
    "waiting": "Not resolved",
    "overdue": "Overdue",
    "open": QueryStatus.OPEN.label,
    "answered": QueryStatus.ANSWERED.label,
    "resolved": QueryStatus.RESOLVED.label,
    "all": "All",
}


def query_list(user, *, show: str = "waiting", today: dt.date | None = None) -> QuerySet[ValueQuery]:
    today = today or timezone.localdate()
    qs = permissions.visible_queries(user)
    if show == "waiting":
        qs = qs.exclude(status=QueryStatus.RESOLVED)
    elif show == "overdue":
        qs = qs.exclude(status=QueryStatus.RESOLVED).filter(due_on__lt=today)
    elif show in QueryStatus.values:
        qs = qs.filter(status=show)
    return (
        qs.select_related("value__indicator", "value__borough", "provider", "commissioner", "opened_by")
        .annotate(message_count=Count("messages"), last_message_at=Max("messages__created_at"))
        .order_by("status" if show == "all" else "due_on", "due_on", "pk")
    )


def query_counts(user, today: dt.date | None = None) -> dict[str, int]:
    """How many of the user's queries wait, and how many of those are overdue (one query)."""
    today = today or timezone.localdate()
    waiting = ~Q(status=QueryStatus.RESOLVED)
    return permissions.visible_queries(user).aggregate(
        waiting=Count("pk", filter=waiting), overdue=Count("pk", filter=waiting & Q(due_on__lt=today))
    )


def query_messages(query: ValueQuery) -> QuerySet[ValueQueryMessage]:
    return query.messages.select_related("author", "submission").order_by("created_at", "pk")
