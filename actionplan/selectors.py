"""Every non-trivial read of plans, actions, key steps and evidence, with its joins applied.

The plan page is built by :func:`plan_page` in a fixed number of queries whatever the
number of actions and milestones: the plan, its areas and partners, its actions with
their milestones, indicator links, priority areas and dependencies, the nine key steps,
and the figures for all of the linked indicators in one query.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Count, F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Events

from actionplan.models import (
    Action,
    ActionCoOwner,
    ActionIndicator,
    ActionStatus,
    Commitment,
    CommitmentAction,
    EvidenceItem,
    Follow,
    KeyStep,
    Milestone,
    PartnerSignOff,
    Plan,
    PlanGroupObjectPermission,
    PlanRepresentative,
    PlanScope,
    PlanUserObjectPermission,
    ProgressNote,
    SharedAction,
)
from actionplan.permissions import AnyUser, plans_visible_to
from kernel.history import HistoryEntry, history_entries
from kernel.numbers import format_number
from outcomes.dashboards import PublicMetric, format_figure, public_metric, round_value
from outcomes.models import Indicator, Metric, PriorityArea
from stakeholders.models import Area, AreaLevel, Organisation, Role, User
from stakeholders.permissions import has_role

# How many recent periods a trend shows.
TREND_PERIODS = 12
HISTORY_LIMIT = 200
# Changes per page of a plan's history tab.
HISTORY_PAGE_SIZE = 50


# Duplicated work merged (issue 23) ----------------------------------------------------------


def live_actions() -> QuerySet[Action]:
    """Actions not retired by a merge (actionplan.duplicates): every list of actions starts here."""
    return Action.objects.filter(merged_into__isnull=True)


def plan_action_filter(plan_ids: Iterable[int]) -> Q:
    """A plan's actions: its own live ones and the shared actions merges pointed it at, each once."""
    ids = list(plan_ids)
    shared = SharedAction.objects.filter(plan_id__in=ids).values("action_id")
    return Q(merged_into__isnull=True) & (Q(plan_id__in=ids) | Q(pk__in=shared))


# Progress ---------------------------------------------------------------------------------


def weighted_progress(actions: Iterable[Action]) -> int | None:
    """Progress rolled up by weight (a done action counts 100); None when there are no actions."""
    total = weight = 0
    for action in actions:
        total += action.progress * action.weight
        weight += action.weight
    return round(total / weight) if weight else None


# Lists ------------------------------------------------------------------------------------


def plan_list(
    *,
    user: AnyUser,
    q: str = "",
    scope: str = "",
    status: str = "",
    borough: Area | None = None,
    lead_organisation: Organisation | None = None,
    key_step: KeyStep | None = None,
    priority_area: PriorityArea | None = None,
) -> QuerySet[Plan]:
    """Plans the user may read, filtered. A borough filter finds the plans that cover it:
    pan-London ones, its sub-region's, and those naming it."""
    plans = plans_visible_to(user).select_related("lead_organisation").prefetch_related("areas")
    if q:
        plans = plans.filter(title__icontains=q)
    if scope:
        plans = plans.filter(scope=scope)
    if status:
        plans = plans.filter(status=status)
    if lead_organisation is not None:
        plans = plans.filter(lead_organisation=lead_organisation)
    if borough is not None:
        covering = Plan.areas.through.objects.filter(area_id__in=[borough.pk, borough.parent_id]).values("plan_id")
        plans = plans.filter(Q(scope=PlanScope.PAN_LONDON) | Q(pk__in=covering))
    if key_step is not None:
        plans = plans.filter(pk__in=Action.objects.filter(key_step=key_step).values("plan_id"))
    if priority_area is not None:
        plans = plans.filter(pk__in=Action.objects.filter(priority_areas=priority_area).values("plan_id"))
    return plans.order_by("-period_start", "title", "id")


@dataclass
class PlanSummary:
    actions: int = 0
    needing_attention: int = 0
    progress: int | None = None


def plan_summaries(plans: Sequence[Plan], today: dt.date | None = None) -> dict[int, PlanSummary]:
    """Action counts and progress for a page of plans, in one query."""
    today = today or timezone.localdate()
    ids = [p.pk for p in plans]
    # A shared action counts once in each plan that lists it: its own, and each it is shared into.
    own = live_actions().filter(plan_id__in=ids).values_list("plan_id", "progress", "weight", "status", "due_date")
    shared = SharedAction.objects.filter(plan_id__in=ids, action__merged_into__isnull=True).values_list(
        "plan_id", "action__progress", "action__weight", "action__status", "action__due_date"
    )
    rows = own.order_by().union(shared.order_by(), all=True)
    acc: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for plan_id, progress, weight, status, due in rows:
        a = acc[plan_id]
        a[0] += 1
        a[1] += progress * weight
        a[2] += weight
        overdue = due is not None and due < today and status != ActionStatus.DONE
        if overdue or status in (ActionStatus.AT_RISK, ActionStatus.OFF_TRACK):
            a[3] += 1
    return {
        plan.pk: PlanSummary(
            actions=acc[plan.pk][0],
            needing_attention=acc[plan.pk][3],
            progress=round(acc[plan.pk][1] / acc[plan.pk][2]) if acc[plan.pk][2] else None,
        )
        for plan in plans
    }


def filter_actions(
    actions: QuerySet[Action], *, key_step: KeyStep | None = None, priority_area: PriorityArea | None = None
) -> QuerySet[Action]:
    """Actions under a key step and/or improving a priority area (either may be None: any)."""
    if key_step is not None:
        actions = actions.filter(key_step=key_step)
    if priority_area is not None:
        actions = actions.filter(
            pk__in=Action.priority_areas.through.objects.filter(priorityarea=priority_area).values("action_id")
        )
    return actions


def priority_areas_prefetch() -> Prefetch:
    return Prefetch("priority_areas", queryset=PriorityArea.objects.order_by("ordering", "name"))


def my_work(
    *, user: User, key_step: KeyStep | None = None, priority_area: PriorityArea | None = None
) -> QuerySet[Action]:
    """Actions the user leads or their organisations own, in plans they may read, soonest due first."""
    org_ids = list(user.memberships.values_list("organisation_id", flat=True))
    actions = (
        live_actions()
        .filter(Q(lead=user) | Q(owner_organisation_id__in=org_ids))
        .filter(plan__in=plans_visible_to(user))
        .select_related("plan", "key_step", "owner_organisation", "lead")
        .prefetch_related(priority_areas_prefetch())
        .order_by(F("due_date").asc(nulls_last=True), "plan__title", "id")
    )
    return filter_actions(actions, key_step=key_step, priority_area=priority_area)


def key_steps() -> QuerySet[KeyStep]:
    return KeyStep.objects.order_by("number")


def key_step_actions(*, step: KeyStep, user: AnyUser, priority_area: PriorityArea | None = None) -> QuerySet[Action]:
    """Actions under a key step in every plan the user may read, with their priority areas."""
    actions = (
        live_actions()
        .filter(key_step=step, plan__in=plans_visible_to(user))
        .select_related("plan", "owner_organisation")
        .prefetch_related(priority_areas_prefetch())
        .order_by("plan__title", F("due_date").asc(nulls_last=True), "id")
    )
    return filter_actions(actions, priority_area=priority_area)


def key_step_action_counts(*, user: AnyUser) -> dict[int, int]:
    """How many actions the user may see under each key step (by step id), in one query."""
    rows = (
        live_actions()
        .filter(plan__in=plans_visible_to(user))
        .order_by()
        .values_list("key_step_id")
        .annotate(n=Count("id"))
    )
    return dict(rows)


# Figures ----------------------------------------------------------------------------------


@dataclass
class Trend:
    """Recent published values of one indicator in one area, oldest first, for a sparkline."""

    points: list[PublicMetric]

    @property
    def latest(self) -> PublicMetric | None:
        return self.points[-1] if self.points else None

    @property
    def svg_points(self) -> str:
        """Polyline points in a 100 x 24 box (suppressed periods are skipped)."""
        shown = [(i, p.value) for i, p in enumerate(self.points) if p.value is not None]
        if len(shown) < 2:
            return ""
        values = [v for _, v in shown]
        low, high = min(values), max(values)
        span = (high - low) or Decimal(1)
        last = max(len(self.points) - 1, 1)
        return " ".join(f"{i * 100 / last:.1f},{22 - float((v - low) / span) * 20:.1f}" for i, v in shown)

    @property
    def summary(self) -> str:
        shown = [p for p in self.points if p.value is not None]
        if len(shown) < 2:
            return "Not enough published periods for a trend."
        return f"From {shown[0].value_text} in {shown[0].period} to {shown[-1].value_text} in {shown[-1].period}."


@dataclass
class IndicatorFigures:
    indicator: Indicator
    trends: list[tuple[Area, Trend]]  # the plan's areas first, London last
    targets: list[ActionIndicator] = field(default_factory=list)


def london_area() -> Area | None:
    return Area.objects.filter(level=AreaLevel.LONDON).first()


def recent_metrics(indicator_ids: Iterable[int], area_ids: Iterable[int]) -> dict[tuple[int, int], Trend]:
    """The last TREND_PERIODS approved metrics per (indicator, area), disclosure-controlled: one query."""
    indicator_ids, area_ids = list(indicator_ids), list(area_ids)
    if not indicator_ids or not area_ids:
        return {}
    ranked = (
        Metric.objects.of_basis(Metric.Basis.APPROVED)
        .filter(indicator_id__in=indicator_ids, area_id__in=area_ids)
        .select_related("indicator", "area")
        .annotate(
            recent=Window(
                RowNumber(), partition_by=[F("indicator_id"), F("area_id")], order_by=F("period_start").desc()
            )
        )
        .filter(recent__lte=TREND_PERIODS)
        .order_by("indicator_id", "area_id", "period_start")
    )
    trends: dict[tuple[int, int], Trend] = defaultdict(lambda: Trend([]))
    for metric in ranked:
        trends[(metric.indicator_id, metric.area_id)].points.append(public_metric(metric))
    return dict(trends)


def plan_figure_areas(plan: Plan, london: Area | None) -> list[Area]:
    """The areas whose figures a plan shows: its sub-region or boroughs, then London."""
    areas = [] if plan.scope == PlanScope.PAN_LONDON else sorted(plan.areas.all(), key=lambda a: a.name)
    return [*areas, london] if london else areas


# The action page: live figures for each linked indicator (issue 21) -----------------------


@dataclass
class AreaFigure:
    """One linked indicator's recent published figures in one area, and how far the latest is from
    the action's target (docs/statistics.md, "Distance to an action's target")."""

    area: Area
    trend: Trend
    target: Decimal | None
    indicator: Indicator

    @property
    def latest(self) -> PublicMetric | None:
        return self.trend.latest

    @property
    def distance_text(self) -> str:
        if self.target is None:
            return ""
        latest = self.latest
        measure = self.indicator.measure
        target = format_figure(round_value(self.target, measure), measure)
        if latest is None or latest.value is None:
            return f"No published figure to set against the target of {target}."
        gap = round_value(latest.value - round_value(self.target, measure), measure)
        if gap == 0:
            return f"On the target of {target}."
        size = (
            f"{format_number(abs(gap), places=1)} percentage points"
            if measure == "proportion"
            else format_figure(abs(gap), measure)
        )
        side = "above" if gap > 0 else "below"
        polarity = self.indicator.polarity
        if polarity == "none":
            return f"{size} {side} the target of {target}."
        reached = (gap > 0) == (polarity == "higher")
        return f"{size} {side} the target of {target}: {'target reached' if reached else 'not yet reached'}."


def action_figures(action: Action, plan: Plan) -> dict[int, list[AreaFigure]]:
    """Each linked indicator's figures (by indicator id) for the plan's areas, then London: the
    latest published figure, its recent trend and the distance to the action's target. Three
    queries whatever the number of links or figures (London, the plan's areas, the metrics)."""
    links = list(action.indicator_links.all())
    if not links:
        return {}
    areas = plan_figure_areas(plan, london_area())
    trends = recent_metrics({link.indicator_id for link in links}, [a.pk for a in areas])
    return {
        link.indicator_id: [
            AreaFigure(
                area=area,
                trend=trends.get((link.indicator_id, area.pk), Trend([])),
                target=link.target,
                indicator=link.indicator,
            )
            for area in areas
        ]
        for link in links
    }


# The plan page ---------------------------------------------------------------------------


@dataclass
class StepSection:
    step: KeyStep
    actions: list[Action]
    figures: list[IndicatorFigures]

    @property
    def progress(self) -> int | None:
        return weighted_progress(self.actions)

    @property
    def needing_attention(self) -> int:
        return sum(1 for a in self.actions if a.needs_attention)


@dataclass
class PlanPage:
    plan: Plan
    sections: list[StepSection]
    areas: list[Area]

    @property
    def actions(self) -> list[Action]:
        return [a for s in self.sections for a in s.actions]

    @property
    def progress(self) -> int | None:
        return weighted_progress(self.actions)

    @property
    def needing_attention(self) -> list[Action]:
        return [a for a in self.actions if a.needs_attention]


def plan_detail_queryset() -> QuerySet[Plan]:
    return Plan.objects.select_related("lead_organisation", "created_by").prefetch_related(
        Prefetch("areas", queryset=Area.objects.order_by("name")),
        Prefetch("partners", queryset=Organisation.objects.order_by("name")),
    )


def plan_actions(plan: Plan) -> QuerySet[Action]:
    """The plan's live actions and the shared actions merges pointed it at (with their own plan joined)."""
    return (
        Action.objects.filter(plan_action_filter([plan.pk]))
        .select_related("owner_organisation", "lead", "plan")
        .prefetch_related(
            Prefetch("milestones", queryset=Milestone.objects.order_by(F("due").asc(nulls_last=True), "id")),
            Prefetch("indicator_links", queryset=ActionIndicator.objects.select_related("indicator")),
            Prefetch("dependencies", queryset=Action.objects.only("id", "title", "status", "plan_id", "key_step_id")),
            priority_areas_prefetch(),
        )
        .order_by("key_step_id", F("due_date").asc(nulls_last=True), "id")
    )


def plan_page(plan: Plan, *, with_figures: bool = True) -> PlanPage:
    """Everything the plan page shows, in a fixed number of queries."""
    steps = list(key_steps())
    actions = list(plan_actions(plan))
    by_step: dict[int, list[Action]] = defaultdict(list)
    for action in actions:
        if action.plan_id == plan.pk:
            action.plan = plan
        by_step[action.key_step_id].append(action)
    london = london_area() if with_figures else None
    areas = plan_figure_areas(plan, london) if with_figures else []
    step_indicators: dict[int, dict[int, Indicator]] = {}
    targets: dict[tuple[int, int], list[ActionIndicator]] = defaultdict(list)
    for step in steps:
        step.actions_cache = by_step.get(step.pk, [])
        inds: dict[int, Indicator] = {}
        for action in by_step.get(step.pk, []):
            action.key_step = step
            for link in action.indicator_links.all():
                inds.setdefault(link.indicator_id, link.indicator)
                targets[(step.pk, link.indicator_id)].append(link)
        step_indicators[step.pk] = inds
    trends = (
        recent_metrics({i for inds in step_indicators.values() for i in inds}, [a.pk for a in areas])
        if with_figures
        else {}
    )
    sections = []
    for step in steps:
        figures = [
            IndicatorFigures(
                indicator=ind,
                trends=[(area, trends.get((ind.pk, area.pk), Trend([]))) for area in areas],
                targets=targets.get((step.pk, ind.pk), []),
            )
            for ind in sorted(step_indicators[step.pk].values(), key=lambda i: i.name)
        ]
        sections.append(StepSection(step=step, actions=by_step.get(step.pk, []), figures=figures))
    return PlanPage(plan=plan, sections=sections, areas=areas)


def with_action_details(actions: QuerySet[Action]) -> QuerySet[Action]:
    """Actions with everything their page and the API show: one join and a fixed set of prefetches."""
    return actions.select_related("plan", "key_step", "owner_organisation", "lead").prefetch_related(
        Prefetch("milestones", queryset=Milestone.objects.order_by(F("due").asc(nulls_last=True), "id")),
        Prefetch("indicator_links", queryset=ActionIndicator.objects.select_related("indicator")),
        Prefetch("dependencies", queryset=Action.objects.select_related("key_step").order_by("title")),
        Prefetch("partners", queryset=Organisation.objects.order_by("name")),
        Prefetch("evidence", queryset=EvidenceItem.objects.order_by("title")),
        Prefetch("progress_notes", queryset=ProgressNote.objects.select_related("author")),
        priority_areas_prefetch(),
    )


def action_detail_queryset(plan: Plan) -> QuerySet[Action]:
    """A plan's actions as the action page reads them: the details, its co-owners and what depends on each."""
    return with_action_details(Action.objects.filter(plan=plan)).prefetch_related(
        Prefetch("dependents", queryset=Action.objects.select_related("key_step").order_by("title")),
        Prefetch("co_owners", queryset=ActionCoOwner.objects.select_related("organisation")),
    )


# Grants -----------------------------------------------------------------------------------


@dataclass
class Grant:
    who: User | Organisation
    kind: str  # "user" | "organisation"
    codenames: set[str]

    @property
    def level(self) -> str:
        from actionplan.permissions import GRANT_LEVELS, REPRESENT

        held = [c for c in GRANT_LEVELS if c in self.codenames]
        # A lived-experience representative (issue 23) with no other grant.
        return held[-1] if held else (REPRESENT if REPRESENT in self.codenames else "")


def plan_grants(plan: Plan) -> list[Grant]:
    """Who holds which grants on a plan: people, then organisations (two queries)."""
    people: dict[int, Grant] = {}
    for row in PlanUserObjectPermission.objects.filter(content_object=plan).select_related("user", "permission"):
        people.setdefault(row.user_id, Grant(row.user, "user", set())).codenames.add(row.permission.codename)
    orgs: dict[int, Grant] = {}
    for row in PlanGroupObjectPermission.objects.filter(content_object=plan).select_related(
        "group__organisation", "permission"
    ):
        org = getattr(row.group, "organisation", None)
        if org is None:
            continue
        orgs.setdefault(org.pk, Grant(org, "organisation", set())).codenames.add(row.permission.codename)
    return sorted(people.values(), key=lambda g: str(g.who).lower()) + sorted(
        orgs.values(), key=lambda g: str(g.who).lower()
    )


# History ----------------------------------------------------------------------------------


class MergedEvents:
    """Several pghistory event streams, each newest first, read as one for Django's Paginator.

    ``count()`` adds the streams' counts; a slice ``[start:stop]`` reads the newest ``stop``
    events of each stream and merges them, so page *n* costs one query per stream whatever
    the history's length (the rows read grow with the page's depth, not the plan's size).
    """

    NEWEST = ("-pgh_created_at", "-pgh_id")

    def __init__(self, *streams: QuerySet) -> None:
        self.streams = [stream.order_by(*self.NEWEST) for stream in streams]

    def count(self) -> int:
        return sum(stream.count() for stream in self.streams)

    def __getitem__(self, window: slice) -> list:
        start, stop = window.start or 0, window.stop
        if stop is None:
            raise ValueError("a history window needs an end")
        events = [event for stream in self.streams for event in stream[:stop]]
        events.sort(key=lambda e: (e.pgh_created_at, e.pgh_id), reverse=True)
        return events[start:stop]


def plan_events(plan: Plan) -> MergedEvents:
    """Events of the plan and its actions, then of the milestones and indicator links of every
    action the plan ever had (deleted ones too), newest first. One query to find the actions."""
    action_event = Action.pgh_event_model
    # Commitments, partners' signatures and representatives (issue 23) reference the plan too.
    streams = [
        Events.objects.across(
            Plan.pgh_event_model,
            action_event,
            Commitment.pgh_event_model,
            PartnerSignOff.pgh_event_model,
            PlanRepresentative.pgh_event_model,
        ).references(plan)
    ]
    action_ids = list(
        action_event.objects.filter(plan_id=plan.pk).order_by().values_list("pgh_obj_id", flat=True).distinct()
    )
    if action_ids:
        actions = [Action(pk=pk) for pk in action_ids]
        streams.append(
            # Co-owners and commitments' links name an action of the plan, so they come with them.
            Events.objects.across(
                Milestone.pgh_event_model,
                ActionIndicator.pgh_event_model,
                ActionCoOwner.pgh_event_model,
                CommitmentAction.pgh_event_model,
            ).references(actions)
        )
    return MergedEvents(*streams)


def plan_history(plan: Plan, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """Readable changes to the plan, its actions (deleted ones too), milestones and indicator links."""
    return history_entries(plan_events(plan)[:limit])


def action_history(action: Action, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    events = list(
        Events.objects.across(Action.pgh_event_model, Milestone.pgh_event_model, ActionIndicator.pgh_event_model)
        .references(action)
        .order_by("-pgh_created_at", "-pgh_id")[:limit]
    )
    return history_entries(events)


# Evidence ---------------------------------------------------------------------------------


def evidence_list(
    *, q: str = "", type: str = "", key_step: KeyStep | None = None, priority_area: PriorityArea | None = None
) -> QuerySet[EvidenceItem]:
    items = EvidenceItem.objects.select_related("organisation").prefetch_related(
        Prefetch("key_steps", queryset=KeyStep.objects.order_by("number")), priority_areas_prefetch()
    )
    if type:
        items = items.filter(type=type)
    if key_step is not None:
        items = items.filter(
            pk__in=EvidenceItem.key_steps.through.objects.filter(keystep=key_step).values("evidenceitem_id")
        )
    if priority_area is not None:
        items = items.filter(
            pk__in=EvidenceItem.priority_areas.through.objects.filter(priorityarea=priority_area).values(
                "evidenceitem_id"
            )
        )
    if q:
        query = SearchQuery(q, config="english", search_type="websearch")
        return (
            items.filter(search_vector=query)
            .annotate(rank=SearchRank("search_vector", query))
            .order_by("-rank", "-published_at", "id")
        )
    return items.order_by("-published_at", "id")


def evidence_citing_actions(*, item: EvidenceItem, user: AnyUser) -> QuerySet[Action]:
    """Actions citing the item, in plans the user may read."""
    return (
        item.actions.filter(plan__in=plans_visible_to(user))
        .select_related("plan", "key_step", "owner_organisation")
        .order_by("plan__title", "key_step__number", "title")
    )


def landing_url(*, user: User) -> str:
    """Where a person lands after signing in: where their work is, decided by their roles.

    - commissioners and data submitters (providers): My work, where their actions and data tasks are;
    - moderators (and superusers, who may moderate): the moderation queue;
    - other staff: My work;
    - everyone else (service users, carers, clinicians, academics, organisation admins): the one
      plan they follow, or the plans list when they follow none or several.

    An explicit, safe ``next`` parameter wins over this (the sign-in view asks it first). The
    sign-in view lives in stakeholders, below actionplan, so it finds this function through the
    SIGN_IN_LANDING setting rather than importing it (docs/architecture.md, "Layers").
    One query for roles (shared with permissions), at most one more for follows.
    """
    if not user.is_authenticated:
        return reverse("plan_list")
    if has_role(user, Role.COMMISSIONER) or has_role(user, Role.DATA_SUBMITTER):
        return reverse("my_work")
    if user.is_active and (user.is_superuser or has_role(user, Role.MODERATOR)):
        return reverse("voice_moderation_queue")
    if user.is_staff:
        return reverse("my_work")
    slugs = list(
        Follow.objects.filter(user_id=user.pk, plan__in=plans_visible_to(user))
        .order_by()
        .values_list("plan__slug", flat=True)[:2]
    )
    if len(slugs) == 1:
        return reverse("plan_detail", kwargs={"slug": slugs[0]})
    return reverse("plan_list")
