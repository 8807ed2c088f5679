"""Reads for value queries, scoped to the user (permissions.visible_queries)."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from commissioning.queries import permissions
from commissioning.queries.models import QueryStatus, ValueQuery, ValueQueryMessage
from stakeholders.models import Organisation

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


# Scorecards --------------------------------------------------------------------------------------


@dataclass
class ScoreRow:
    """One organisation's loop with the other side (docs/outcomes.md, "Scorecards")."""

    organisation: Organisation
    values: int = 0  # values received (providers) in the scope
    queried: int = 0  # of them, values with at least one query
    raised: int = 0  # queries raised (commissioners) or received (providers)
    resolved_days: list[int] = field(default_factory=list)  # working days from opening to resolution
    overdue: int = 0
    expected: int | None = None  # expected returns past their deadline (reporting schedules)
    on_time: int | None = None

    @property
    def queried_percent(self) -> float | None:
        return 100 * self.queried / self.values if self.values else None

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.resolved_days) if self.resolved_days else None

    @property
    def on_time_percent(self) -> float | None:
        return 100 * self.on_time / self.expected if self.expected else None


def scorecards(user, *, today: dt.date | None = None) -> dict[str, list[ScoreRow]]:
    """The providers' and the commissioners' scorecards over what this user may see.

    Providers: values received, the share queried, queries received, median working days to
    resolve, overdue queries now, and returns on time (reporting schedules). Commissioners (by the
    organisation a query was raised for): queries raised, median working days to resolve, overdue.
    Seven queries, whatever the number of organisations.
    """
    from commissioning.queries.services import working_days_between
    from commissioning.schedules.permissions import completeness_scope
    from commissioning.schedules.selectors import completeness
    from outcomes.permissions import visible_values

    today = today or timezone.localdate()
    values = (
        visible_values(user)
        .values("organisation_id")
        .annotate(n=Count("pk"), queried=Count("pk", filter=Exists(ValueQuery.objects.filter(value=OuterRef("pk")))))
    )
    providers: dict[int, ScoreRow] = {}
    commissioners: dict[int, ScoreRow] = {}
    for row in values:
        providers[row["organisation_id"]] = ScoreRow(None, values=row["n"], queried=row["queried"])  # type: ignore[arg-type]
    for query in permissions.visible_queries(user).only(
        "provider_id", "commissioner_id", "opened_at", "resolved_at", "status", "due_on"
    ):
        sides = [providers.setdefault(query.provider_id, ScoreRow(None))]  # type: ignore[arg-type]
        if query.commissioner_id:
            sides.append(commissioners.setdefault(query.commissioner_id, ScoreRow(None)))  # type: ignore[arg-type]
        for side in sides:
            side.raised += 1
            if query.status == QueryStatus.RESOLVED and query.resolved_at:
                side.resolved_days.append(
                    working_days_between(
                        timezone.localtime(query.opened_at).date(), timezone.localtime(query.resolved_at).date()
                    )
                )
            elif query.due_on < today:
                side.overdue += 1
    scope = completeness_scope(user)
    if scope is not None:
        for tally in completeness(scope).by.get("provider", []):
            row = providers.setdefault(tally.key, ScoreRow(None))  # type: ignore[arg-type]
            row.expected, row.on_time = tally.expected, tally.on_time
    names = Organisation.objects.in_bulk(list(providers) + list(commissioners))
    for pk, row in [*providers.items(), *commissioners.items()]:
        row.organisation = names[pk]
    return {
        "providers": sorted(providers.values(), key=lambda r: r.organisation.name),
        "commissioners": sorted(commissioners.values(), key=lambda r: r.organisation.name),
    }
