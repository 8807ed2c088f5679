"""The facts a story is drafted from, and the plain-language templates that turn them into text.

Facts (`gather`) are read from what the public already sees, so a story never says more:

- **Indicators**: approved figures (`Metric`, approved basis) for the area whose period ends in
  the quarter, the latest such period of each active indicator, put through disclosure control
  (`outcomes.dashboards.public_metric`). A figure it hides (a count under 5, a suppressed or
  secondarily suppressed row) is left out altogether: neither its value nor its trend is told.
  "Significantly better / worse" (or "rose / fell significantly" for an indicator with no
  judgement) is said only when the trend test over the last five periods found a change
  (`Metric.trend` increasing or decreasing); `no_change` is "no significant change", and an
  untested trend is never called a change (docs/statistics.md, "What a story may quote").
- **Actions completed**: actions on public plans (out of draft) covering the area that first
  reached "done" in the quarter (from their history).
- **Decisions**: partnership decisions first recorded as agreed (agreed or done now) in the
  quarter, by partnerships covering the area.
- **You said, we did**: official responses that accepted a visible comment on a public plan
  covering the area, given in the quarter.

"Covering": for London, pan-London plans and partnerships; for a borough, plans naming the
borough or its ICS sub-region, and the sub-region's or a group of boroughs' partnerships that
include it (not the pan-London ones, whose decisions are London's story).

`compose` turns facts into the markdown body and the Easy Read version with the templates
below: plain-language sentences, Python string templates, nothing invented.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Min, Q
from django.urls import reverse

from actionplan.models import Action, ActionStatus, CommentStatus, Disposition, PlanScope, Response
from actionplan.permissions import plans_visible_to
from commissioning.decisions.models import Decision, DecisionStatus
from commissioning.models import Partnership, PartnershipScope
from kernel.numbers import format_in_unit
from outcomes.dashboards import public_metric
from outcomes.models import Metric
from outcomes.periods import MONTH_NAMES, PeriodType, financial_quarter_label, last_day
from stakeholders.models import Area, AreaLevel

MAX_ITEMS = 8  # of each kind of fact told in a story; the rest are counted
EXCERPT = 160
TREND_PERIODS = {PeriodType.MONTH: "five months", PeriodType.QUARTER: "five quarters", PeriodType.YEAR: "five years"}


@dataclass(frozen=True)
class IndicatorFact:
    code: str
    name: str
    value: str  # as published (rounded, in its unit)
    period: str
    trend: str  # increasing, decreasing, no_change or "" (not tested)
    polarity: str
    over: str  # "five months"

    @property
    def significant(self) -> bool:
        return self.trend in ("increasing", "decreasing")

    @property
    def better(self) -> bool | None:
        """True / False when the trend test found a change and the indicator has a better direction."""
        if not self.significant or self.polarity not in ("higher", "lower"):
            return None
        return (self.trend == "increasing") == (self.polarity == "higher")


@dataclass(frozen=True)
class ItemFact:
    kind: str  # action, decision, response
    title: str
    url: str
    detail: str = ""
    extra: str = ""


@dataclass
class Facts:
    area_name: str
    area_is_london: bool
    quarter_start: dt.date
    indicators: list[IndicatorFact] = field(default_factory=list)
    hidden_indicators: int = 0  # figures disclosure control hides: counted, never told
    actions: list[ItemFact] = field(default_factory=list)
    decisions: list[ItemFact] = field(default_factory=list)
    responses: list[ItemFact] = field(default_factory=list)

    @property
    def quarter_end(self) -> dt.date:
        return last_day(PeriodType.QUARTER, self.quarter_start)

    def sources(self) -> list[dict[str, Any]]:
        """What the story is based on, stored with it and shown as "based on"."""
        rows: list[dict[str, Any]] = []
        for fact in self.indicators:
            rows.append(
                {
                    "kind": "indicator",
                    "title": fact.name,
                    "url": reverse("indicator_detail", args=[fact.code]),
                    "detail": f"{fact.value} in {fact.period}; {trend_phrase(fact)}",
                }
            )
        for item in [*self.actions, *self.decisions, *self.responses]:
            rows.append({"kind": item.kind, "title": item.title, "url": item.url, "detail": item.detail})
        return rows


# Reading the facts ----------------------------------------------------------------------------


def _in_quarter(start: dt.date) -> tuple[dt.datetime, dt.datetime]:
    from django.utils import timezone

    end = last_day(PeriodType.QUARTER, start) + dt.timedelta(days=1)
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end, dt.time(), tzinfo=tz),
    )


def _plans_covering(area: Area) -> Any:
    public = plans_visible_to(_Anonymous())
    if area.level == AreaLevel.LONDON:
        return public.filter(scope=PlanScope.PAN_LONDON)
    return public.filter(areas__in=[area.pk, area.parent_id]).distinct()


def _partnerships_covering(area: Area) -> Any:
    if area.level == AreaLevel.LONDON:
        return Partnership.objects.filter(scope=PartnershipScope.PAN_LONDON)
    # Pan-London partnerships cover every borough: their decisions are London's story, not each borough's.
    return (
        Partnership.objects.filter(Q(boroughs=area) | Q(sub_region_id=area.parent_id))
        .exclude(scope=PartnershipScope.PAN_LONDON)
        .distinct()
    )


class _Anonymous:
    """The public: a story tells only what an anonymous visitor may read."""

    is_authenticated = False
    is_active = False
    is_superuser = False


def indicator_facts(area: Area, quarter_start: dt.date) -> tuple[list[IndicatorFact], int]:
    """(facts told, figures hidden by disclosure control) for the area's approved figures in the quarter."""
    quarter_end = last_day(PeriodType.QUARTER, quarter_start)
    rows = (
        Metric.objects.of_basis(Metric.Basis.APPROVED)
        .filter(area=area, period_start__gte=quarter_start, period_start__lte=quarter_end, indicator__is_active=True)
        .select_related("indicator", "area")
        .order_by("indicator__code", "-period_start")
    )
    latest: dict[int, Metric] = {}
    for metric in rows:
        indicator = metric.indicator
        if last_day(indicator.period_type, metric.period_start) > quarter_end:
            continue  # a year that starts in the quarter has not ended with it
        latest.setdefault(indicator.pk, metric)
    facts, hidden = [], 0
    for metric in latest.values():
        shown = public_metric(metric)
        if shown.suppressed or shown.value is None:
            hidden += 1
            continue
        facts.append(
            IndicatorFact(
                code=shown.indicator_code,
                name=shown.indicator_name,
                value=format_in_unit(shown.value, shown.measure),
                period=_period_words(metric.indicator, metric.period_start),
                trend=shown.trend,
                polarity=shown.polarity,
                over=TREND_PERIODS.get(metric.indicator.period_type, "five periods"),
            )
        )
    return facts, hidden


def _period_words(indicator: Any, start: dt.date) -> str:
    """September 2026 for a month; the indicator's own label (2026-27 Q2, 2026) otherwise."""
    if indicator.period_type == PeriodType.MONTH:
        return f"{MONTH_NAMES[start.month - 1]} {start.year}"
    return indicator.period_label(start)


def _excerpt(text: str, limit: int = EXCERPT, *, whole: bool = False) -> str:
    """Someone's words, plain (markdown marks and link targets removed): the first sentence, or
    with `whole` as much as fits in `limit`, cut at a word."""
    plain = re.sub(r"\(https?://[^)]*\)", "", " ".join((text or "").split()))
    plain = re.sub(r"[*_`#>\[\]]", "", plain)
    first = plain if whole else re.split(r"(?<=[.!?])\s", plain, maxsplit=1)[0]
    if len(first) <= limit:
        return first
    return first[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "\u2026"


def action_facts(area: Area, quarter_start: dt.date) -> list[ItemFact]:
    start, end = _in_quarter(quarter_start)
    event_model = Action.pgh_event_model
    first_done = (
        event_model.objects.filter(status=ActionStatus.DONE)
        .values("pgh_obj_id")
        .annotate(at=Min("pgh_created_at"))
        .filter(at__gte=start, at__lt=end)
        .values("pgh_obj_id")
    )
    actions = (
        Action.objects.filter(pk__in=first_done, status=ActionStatus.DONE, plan__in=_plans_covering(area))
        .select_related("plan", "owner_organisation")
        .order_by("plan__title", "title")
    )
    return [
        ItemFact(
            kind="action",
            title=a.title,
            url=reverse("action_detail", args=[a.plan.slug, a.pk]),
            detail=f"on “{a.plan.title}”, led by {a.owner_organisation.name}",
            extra=a.owner_organisation.name,
        )
        for a in actions
    ]


def decision_facts(area: Area, quarter_start: dt.date) -> list[ItemFact]:
    start, end = _in_quarter(quarter_start)
    decisions = (
        Decision.objects.filter(
            partnership__in=_partnerships_covering(area),
            status__in=[DecisionStatus.AGREED, DecisionStatus.DONE],
            decided_at__gte=start,
            decided_at__lt=end,
        )
        .select_related("partnership", "owner")
        .order_by("decided_at", "pk")
    )
    return [
        ItemFact(
            kind="decision",
            title=d.title,
            url=d.get_absolute_url(),
            detail=f"Agreed by {d.partnership.name}" + (f"; {d.owner.name} carries it out" if d.owner else ""),
            extra=d.partnership.name,
        )
        for d in decisions
    ]


def response_facts(area: Area, quarter_start: dt.date) -> list[ItemFact]:
    start, end = _in_quarter(quarter_start)
    responses = (
        Response.objects.filter(
            disposition=Disposition.ACCEPTED,
            created_at__gte=start,
            created_at__lt=end,
            comment__status=CommentStatus.VISIBLE,
            comment__deleted_at__isnull=True,
            comment__plan__in=_plans_covering(area),
        )
        .select_related("comment__plan", "action_changed")
        .order_by("created_at", "pk")
    )
    return [
        ItemFact(
            kind="response",
            title=f"On “{r.comment.plan.title}”",
            url=reverse("voice_plan_thread", args=[r.comment.plan.slug]) + f"#comment-{r.comment_id}",
            detail=_excerpt(r.comment.body),
            extra=_excerpt(r.text, whole=True),
        )
        for r in responses
    ]


def gather(area: Area, quarter_start: dt.date) -> Facts:
    indicators, hidden = indicator_facts(area, quarter_start)
    return Facts(
        area_name=area.name,
        area_is_london=area.level == AreaLevel.LONDON,
        quarter_start=quarter_start,
        indicators=indicators,
        hidden_indicators=hidden,
        actions=action_facts(area, quarter_start),
        decisions=decision_facts(area, quarter_start),
        responses=response_facts(area, quarter_start),
    )


# Templates ------------------------------------------------------------------------------------

TITLE = "{area}'s mental health story: {months}"
INTRO = (
    "This is what changed for mental health in {area} from {months} ({quarter}), told from the figures and "
    "records partners keep in the portal. It was drafted automatically and checked by a commissioner."
)
SIGNIFICANT_JUDGED = (
    "**{name}** got significantly {direction}: {value} in {period}. Over the last {over} the trend test "
    "found a real {movement}, more than chance would explain."
)
SIGNIFICANT_UNJUDGED = (
    "**{name}** {moved} significantly: {value} in {period}. Over the last {over} the trend test found a real "
    "{movement}, more than chance would explain."
)
NO_CHANGE = "**{name}** was {value} in {period}, with no significant change over the last {over}."
NOT_TESTED = "**{name}** was {value} in {period}. There are not yet enough periods to test for a trend."
NO_FIGURES = "No approved figures for {area} are published for this quarter yet."
HIDDEN = "{count} more figure{s} for this quarter {are} not shown, to protect people's privacy where numbers are small."
ACTION = "**{title}** is done ({detail})."
DECISION = "**{title}**: {detail}."
RESPONSE = "You said: “{said}” We did: {did}"
MORE = "And {count} more: see the list of what this story is based on."

EASY_INTRO = [
    "This is about mental health in {area}.",
    "It is about {months}.",
]
EASY_BETTER = "{name} got better."
EASY_WORSE = "{name} got worse."
EASY_UP = "{name} went up."
EASY_DOWN = "{name} went down."
EASY_SAME = "Other things stayed about the same."
EASY_ALL_SAME = "The figures stayed about the same."
EASY_ACTIONS = "We finished {count} piece{s} of work."
EASY_ACTION = "We finished: {title}."
EASY_DECISIONS = "Partners agreed {count} thing{s}."
EASY_DECISION = "They agreed: {title}."
EASY_RESPONSES = "People told us what to change. We listened."
EASY_RESPONSE_SAID = "You said: {said}"
EASY_RESPONSE_DID = "We did: {did}"
EASY_NOTHING = "We have no news to tell for this time yet."
EASY_END = "Ask us if you want to know more."


def months_label(quarter_start: dt.date) -> str:
    """July to September 2026."""
    end = last_day(PeriodType.QUARTER, quarter_start)
    return f"{MONTH_NAMES[quarter_start.month - 1]} to {MONTH_NAMES[end.month - 1]} {end.year}"


def trend_phrase(fact: IndicatorFact) -> str:
    if fact.better is True:
        return "significantly better"
    if fact.better is False:
        return "significantly worse"
    if fact.significant:
        return "rose significantly" if fact.trend == "increasing" else "fell significantly"
    if fact.trend == "no_change":
        return "no significant change"
    return "trend not tested"


def indicator_sentence(fact: IndicatorFact) -> str:
    values = {"name": fact.name, "value": fact.value, "period": fact.period, "over": fact.over}
    movement = "rise" if fact.trend == "increasing" else "fall"
    if fact.better is not None:
        return SIGNIFICANT_JUDGED.format(direction="better" if fact.better else "worse", movement=movement, **values)
    if fact.significant:
        return SIGNIFICANT_UNJUDGED.format(
            moved="rose" if fact.trend == "increasing" else "fell", movement=movement, **values
        )
    if fact.trend == "no_change":
        return NO_CHANGE.format(**values)
    return NOT_TESTED.format(**values)


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _bullets(lines: list[str], total: int) -> list[str]:
    out = [f"- {line}" for line in lines[:MAX_ITEMS]]
    if total > MAX_ITEMS:
        out += ["", MORE.format(count=total - MAX_ITEMS)]
    return out


def title_for(facts: Facts) -> str:
    return TITLE.format(area=facts.area_name, months=months_label(facts.quarter_start))


def compose_body(facts: Facts) -> str:
    months = months_label(facts.quarter_start)
    parts = [
        INTRO.format(area=facts.area_name, months=months, quarter=financial_quarter_label(facts.quarter_start)),
        "",
        "## What the figures say",
        "",
    ]
    changed = [f for f in facts.indicators if f.significant]
    steady = [f for f in facts.indicators if not f.significant]
    if not facts.indicators:
        parts.append(NO_FIGURES.format(area=facts.area_name))
    else:
        parts += _bullets([indicator_sentence(f) for f in changed + steady], len(facts.indicators))
    if facts.hidden_indicators:
        count = facts.hidden_indicators
        parts += ["", HIDDEN.format(count=count, s=_plural(count), are="is" if count == 1 else "are")]
    if facts.actions:
        parts += ["", "## Work finished", ""]
        parts += _bullets([ACTION.format(title=a.title, detail=a.detail) for a in facts.actions], len(facts.actions))
    if facts.decisions:
        parts += ["", "## Decisions taken together", ""]
        parts += _bullets(
            [DECISION.format(title=d.title, detail=d.detail) for d in facts.decisions], len(facts.decisions)
        )
    if facts.responses:
        parts += ["", "## You said, we did", ""]
        parts += _bullets([RESPONSE.format(said=r.detail, did=r.extra) for r in facts.responses], len(facts.responses))
    return "\n".join(parts).strip() + "\n"


def compose_easy_read(facts: Facts) -> str:
    months = months_label(facts.quarter_start)
    lines = [line.format(area=facts.area_name, months=months) for line in EASY_INTRO]
    told = False
    for fact in facts.indicators[:MAX_ITEMS]:
        if fact.better is True:
            lines.append(EASY_BETTER.format(name=fact.name))
        elif fact.better is False:
            lines.append(EASY_WORSE.format(name=fact.name))
        elif fact.significant:
            lines.append((EASY_UP if fact.trend == "increasing" else EASY_DOWN).format(name=fact.name))
        else:
            continue
        told = True
    if facts.indicators and any(not f.significant for f in facts.indicators):
        lines.append(EASY_SAME if told else EASY_ALL_SAME)
        told = True
    if facts.actions:
        count = len(facts.actions)
        lines.append(EASY_ACTIONS.format(count=count, s=_plural(count)))
        lines += [EASY_ACTION.format(title=a.title) for a in facts.actions[:MAX_ITEMS]]
        told = True
    if facts.decisions:
        count = len(facts.decisions)
        lines.append(EASY_DECISIONS.format(count=count, s=_plural(count)))
        lines += [EASY_DECISION.format(title=d.title) for d in facts.decisions[:MAX_ITEMS]]
        told = True
    if facts.responses:
        lines.append(EASY_RESPONSES)
        for r in facts.responses[:MAX_ITEMS]:
            lines += [EASY_RESPONSE_SAID.format(said=r.detail), EASY_RESPONSE_DID.format(did=r.extra)]
        told = True
    if not told:
        lines.append(EASY_NOTHING)
    lines.append(EASY_END)
    return "\n".join(lines) + "\n"


def facts_as_dict(facts: Facts) -> dict[str, Any]:
    return asdict(facts)


__all__ = ["Facts", "IndicatorFact", "ItemFact", "compose_body", "compose_easy_read", "gather", "title_for"]
