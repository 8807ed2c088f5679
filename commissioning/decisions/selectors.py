"""Reads for the decisions log, a decision's page and meetings: fixed query counts at any size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from actionplan.models import Action
from commissioning.decisions.models import Decision, DecisionStatus, Meeting, Stance, StanceChoice
from commissioning.models import Partnership, PartnershipMember

TALLIES = {f"n_{choice}": Count("stances", filter=Q(stances__stance=choice)) for choice in StanceChoice.values}


def with_tallies(qs: QuerySet[Decision]) -> QuerySet[Decision]:
    """Count each stance in SQL: n_agree, n_abstain, n_disagree, n_block."""
    return qs.annotate(**TALLIES)


@dataclass(frozen=True)
class LogFilters:
    status: str = ""
    owner: int | None = None
    meeting: int | None = None
    due_before: dt.date | None = None
    q: str = ""


def decision_log(partnership: Partnership, filters: LogFilters | None = None) -> QuerySet[Decision]:
    """The partnership's decisions, newest first, with stance tallies, owner and meeting (one query).

    Filters: status ("overdue": agreed and past its due date; "dissent": someone disagreed or
    blocked), owner organisation, meeting, due before a day, and words in the title or text.
    """
    f = filters or LogFilters()
    qs = Decision.objects.filter(partnership=partnership)
    if f.status == "overdue":
        qs = qs.filter(status=DecisionStatus.AGREED, due_date__lt=timezone.localdate())
    elif f.status == "dissent":
        qs = qs.filter(stances__stance__in=[StanceChoice.DISAGREE, StanceChoice.BLOCK]).distinct()
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.meeting:
        qs = qs.filter(meeting_id=f.meeting)
    if f.due_before:
        qs = qs.filter(due_date__lt=f.due_before)
    if f.q:
        for word in f.q.split()[:8]:
            qs = qs.filter(Q(title__icontains=word) | Q(text__icontains=word) | Q(outcome__icontains=word))
    return with_tallies(qs.select_related("owner", "meeting")).order_by("-created_at", "-pk")


def decision_page(decision: Decision) -> Decision:
    """The decision with its stances (organisation and who recorded it), actions and meeting prefetched."""
    return (
        with_tallies(Decision.objects.filter(pk=decision.pk))
        .select_related("owner", "meeting", "proposed_by", "partnership")
        .prefetch_related(
            Prefetch(
                "stances", queryset=Stance.objects.select_related("organisation", "user").order_by("organisation__name")
            ),
            Prefetch("actions", queryset=Action.objects.select_related("plan").order_by("plan__title", "title")),
        )
        .get()
    )


@dataclass(frozen=True)
class StanceRow:
    organisation: Any
    stance: Stance | None


def stance_rows(decision: Decision, members: list[PartnershipMember]) -> list[StanceRow]:
    """Every member organisation with its stance, or None where it has not responded yet.

    A stance from an organisation no longer a member is kept on the record too (dissent stays visible).
    """
    by_org = {s.organisation_id: s for s in decision.stances.all()}
    rows = [StanceRow(m.organisation, by_org.pop(m.organisation_id, None)) for m in members]
    rows += [StanceRow(s.organisation, s) for s in by_org.values()]
    return rows


def partnership_members(partnership: Partnership) -> list[PartnershipMember]:
    return list(
        PartnershipMember.objects.filter(partnership=partnership)
        .select_related("organisation")
        .order_by("organisation__name")
    )


def meeting_list(partnership: Partnership) -> QuerySet[Meeting]:
    return (
        Meeting.objects.filter(partnership=partnership)
        .annotate(n_decisions=Count("decisions"))
        .order_by("-date", "-pk")
    )


def meeting_page(meeting: Meeting) -> Meeting:
    return (
        Meeting.objects.filter(pk=meeting.pk)
        .select_related("partnership")
        .prefetch_related(
            "attendees__memberships__organisation",
            Prefetch(
                "decisions",
                queryset=with_tallies(Decision.objects.select_related("owner")).order_by("created_at", "pk"),
            ),
        )
        .get()
    )


def stance_history(decision: Decision) -> list[Any]:
    """Every stance ever recorded on the decision, newest first (pghistory events)."""
    event_model = Stance.pgh_event_model
    return list(
        event_model.objects.filter(decision_id=decision.pk)
        .select_related("organisation", "user")
        .order_by("-pgh_created_at", "-pgh_id")[:200]
    )


def decision_history(decision: Decision) -> list[Any]:
    event_model = Decision.pgh_event_model
    return list(
        event_model.objects.filter(pgh_obj_id=decision.pk)
        .select_related("owner")
        .order_by("-pgh_created_at", "-pgh_id")[:100]
    )
