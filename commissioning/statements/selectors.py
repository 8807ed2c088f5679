"""Reads for payment statements: the figures a statement freezes, its lines with their stances,
and what has changed since.

The figures of every measure of a contract for a payment period come from one set-based query
(`period_series`): the contract's boroughs' approved metrics summed per measure and indicator
period, exactly as `commissioning.selectors.measure_series` sums them for the performance page,
but for the indicator periods that lie inside the payment period. Several periods (the months of
a quarter) are pooled by `pooled_point` so that the figure keeps the target's scale
(docs/statistics.md, "Figures for a payment period").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Prefetch, QuerySet

from commissioning.models import FULL_SHARE_BP, Contract, ContractMeasure
from commissioning.selectors import Point, controlled_point, judge, point_for
from commissioning.statements.models import (
    Judgement,
    LineMessage,
    LineStance,
    PaymentStatement,
    StatementLine,
)
from outcomes.models import Measure, Metric, PeriodType, basis_sql
from outcomes.periods import add_months
from outcomes.statistics import poisson_limits, rate_limits

PERIOD_MONTHS = {PeriodType.MONTH: 1, PeriodType.QUARTER: 3, PeriodType.YEAR: 12}

PERIOD_SERIES_SQL = f"""
SELECT cm.id AS measure_id, mt.period_start,
       SUM(mt.numerator) AS num, SUM(mt.denominator) AS den, SUM(mt.population) AS pop, COUNT(*) AS boroughs
FROM commissioning_contractmeasure cm
JOIN commissioning_contract_boroughs cb ON cb.contract_id = cm.contract_id
JOIN outcomes_metric mt
  ON mt.indicator_id = cm.indicator_id AND mt.area_id = cb.area_id AND {basis_sql("mt", "basis")}
 AND mt.population_group = ''
WHERE cm.id = ANY(%(ids)s) AND mt.period_start BETWEEN %(start)s AND %(end)s
GROUP BY cm.id, mt.period_start
ORDER BY cm.id, mt.period_start
"""  # noqa: S608 - the slot is our own fragment; values are parameters

Row = tuple[dt.date, Decimal, int | None, int | None, int]


def period_series(
    measure_ids: list[int], start: dt.date, end: dt.date, *, basis: str = Metric.Basis.APPROVED
) -> dict[int, list[Row]]:
    """Summed borough figures per measure and indicator period starting inside [start, end] (one query)."""
    if not measure_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(PERIOD_SERIES_SQL, {"ids": list(measure_ids), "start": start, "end": end, "basis": basis})
        rows = cursor.fetchall()
    series: dict[int, list[Row]] = {}
    for measure_id, period_start, num, den, pop, boroughs in rows:
        series.setdefault(measure_id, []).append(
            (period_start, num, None if den is None else int(den), None if pop is None else int(pop), boroughs)
        )
    return series


def periods_inside(period_type: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The starts of an indicator's periods wholly inside [start, end]: a quarter holds 3 months, 1 quarter, no year."""
    step = PERIOD_MONTHS[PeriodType(period_type)]
    first = dt.date(start.year, start.month, 1)
    if period_type == PeriodType.QUARTER:
        first = dt.date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    elif period_type == PeriodType.YEAR:
        first = dt.date(first.year, 1, 1)
    periods, current = [], first
    while current <= end:
        if current >= start and add_months(current, step) - dt.timedelta(days=1) <= end:
            periods.append(current)
        current = add_months(current, step)
    return periods


def pooled_point(measure: str, period_type: str, rows: list[Row]) -> Point | None:
    """One figure for a payment period from its indicator periods' summed figures, on the target's scale.

    One period: that period's figure, exactly as the performance page computes it (point_for).
    Several: proportions and means pool numerators and denominators; counts are the average
    per period (total events / periods, the limits of the total divided likewise); rates pool
    events over the summed populations of each period (person-periods), which is the average
    per period when the population does not change. `boroughs_reporting` is the fewest in any
    period.
    """
    if not rows:
        return None
    if len(rows) == 1:
        return point_for(measure, period_type, *rows[0])
    start = rows[0][0]
    total = sum((Decimal(r[1]) for r in rows), Decimal(0))
    dens = [r[2] for r in rows]
    pops = [r[3] for r in rows]
    boroughs = min(r[4] for r in rows)
    den = sum(d for d in dens if d is not None) if any(d is not None for d in dens) else None
    pop = sum(p for p in pops if p is not None) if any(p is not None for p in pops) else None
    label = ", ".join(str(r[0]) for r in rows)
    if measure in (Measure.PROPORTION, Measure.MEAN):
        point = point_for(measure, period_type, start, total, den, None, boroughs)
        return Point(start, label, point.value, point.lower, point.upper, total, den, None, boroughs)
    n = len(rows)
    x = float(total)
    if measure == Measure.COUNT:
        low, high = poisson_limits(x, 95)
        return Point(start, label, x / n, low / n, high / n, total, None, None, boroughs)
    if measure == Measure.RATE and pop:
        low, high = rate_limits(x, pop, 95)
        return Point(start, label, x / pop * 100_000, low, high, total, None, pop, boroughs)
    return Point(start, label, None, None, None, total, den, pop, boroughs)


@dataclass
class Figures:
    """A measure's figures and judgement for a payment period, before (or instead of) freezing."""

    measure: ContractMeasure
    point: Point | None
    periods: list[dt.date]
    periods_reported: int
    boroughs_total: int
    judgement: str
    note: str
    linked_pence: int

    @property
    def earned_pence(self) -> int:
        return self.linked_pence if self.judgement == Judgement.MET else 0

    @property
    def at_risk_pence(self) -> int:
        return self.linked_pence if self.judgement == Judgement.MISSED else 0

    @property
    def held_pence(self) -> int:
        return self.linked_pence if self.judgement == Judgement.UNCERTAIN else 0


def _number(value: float | None, places: int = 8) -> Decimal | None:
    return None if value is None else Decimal(repr(value)).quantize(Decimal(1).scaleb(-places))


def period_figures(
    contract: Contract, measures: list[ContractMeasure], start: dt.date, end: dt.date, *, boroughs_total: int
) -> list[Figures]:
    """Every measure's figures for the period, judged by the one rule, in one query."""
    series = period_series([m.pk for m in measures], start, end)
    result = []
    for measure in measures:
        indicator = measure.indicator
        expected = periods_inside(indicator.period_type, start, end)
        rows = [r for r in series.get(measure.pk, []) if r[0] in expected]
        point = pooled_point(indicator.measure, indicator.period_type, rows)
        complete = (
            bool(expected)
            and len(rows) == len(expected)
            and (not boroughs_total or (point is not None and point.boroughs_reporting >= boroughs_total))
        )
        judgement, note = judge(
            measure=indicator.measure,
            polarity=indicator.polarity,
            target=measure.target,
            value=None if point is None else point.value,
            lower=None if point is None else point.lower,
            upper=None if point is None else point.upper,
            complete=complete,
        )
        if not expected:
            every = indicator.get_period_type_display().lower()
            note = f"The indicator is reported by {every}: no period of it lies inside this one."
        elif rows and len(rows) < len(expected) and not note:
            note = f"{len(rows)} of {len(expected)} periods reported."
        result.append(
            Figures(
                measure=measure,
                point=point,
                periods=expected,
                periods_reported=len(rows),
                boroughs_total=boroughs_total,
                judgement=judgement,
                note=note,
                linked_pence=period_linked_pence(contract, measure, start, end),
            )
        )
    return result


def period_linked_pence(contract: Contract, measure: ContractMeasure, start: dt.date, end: dt.date) -> int:
    """The money linked to a measure for a payment period: its annual share, pro rata by whole months."""
    return contract.annual_value_pence * measure.share_bp * months_between(start, end) // (FULL_SHARE_BP * 12)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months in [start, end] (3 for a quarter): a period's share of the annual linked money."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def line_values(figures: Figures) -> dict[str, Any]:
    """The frozen fields of a statement line for these figures."""
    measure, indicator, point = figures.measure, figures.measure.indicator, figures.point
    return {
        "measure": measure,
        "indicator_code": indicator.code,
        "indicator_name": indicator.name,
        "measure_type": indicator.measure,
        "unit": indicator.unit,
        "polarity": indicator.polarity,
        "period_type": indicator.period_type,
        "periods": ", ".join(indicator.period_label(p) for p in figures.periods),
        "periods_expected": len(figures.periods),
        "periods_reported": figures.periods_reported,
        "value": None if point is None else _number(point.value),
        "lower": None if point is None else _number(point.lower),
        "upper": None if point is None else _number(point.upper),
        "numerator": None if point is None else point.numerator,
        "denominator": None if point is None else point.denominator,
        "population": None if point is None else point.population,
        "boroughs_reporting": 0 if point is None else point.boroughs_reporting,
        "boroughs_total": figures.boroughs_total,
        "target": measure.target,
        "judgement": figures.judgement,
        "judgement_note": figures.note[:200],
        "linked_pence": figures.linked_pence,
        "earned_pence": figures.earned_pence,
        "at_risk_pence": figures.at_risk_pence,
        "held_pence": figures.held_pence,
    }


COMPARED = ("value", "lower", "upper", "numerator", "denominator", "boroughs_reporting", "judgement", "target")


# Pages ----------------------------------------------------------------------------------------


def statement_list(contract: Contract) -> QuerySet[PaymentStatement]:
    return contract.statements.select_related("drafted_by").order_by("-period_start")


def statement_for_page(pk: int) -> PaymentStatement | None:
    """The statement with its contract, lines, stances and messages (five queries)."""
    return (
        PaymentStatement.objects.filter(pk=pk)
        .select_related("contract__commissioner_organisation", "contract__commissioner_partnership", "drafted_by")
        .prefetch_related(
            "contract__providers__organisation",
            "contract__boroughs",
            Prefetch(
                "lines",
                queryset=StatementLine.objects.order_by("position", "pk").prefetch_related(
                    Prefetch("stances", queryset=LineStance.objects.select_related("organisation", "user")),
                    Prefetch("messages", queryset=LineMessage.objects.select_related("organisation", "author")),
                ),
            ),
        )
        .first()
    )


@dataclass
class LineView:
    """A line as one reader sees it: figures (controlled where they must be), stances and changes."""

    line: StatementLine
    shown: Point
    latest: dict[str, LineStance]  # party key -> latest counting stance
    changed: dict[str, tuple[Any, Any]]  # field -> (frozen, live), shown when the live figures differ
    live: Figures | None

    @property
    def disputed(self) -> bool:
        return any(s.stance == "dispute" for s in self.latest.values())


def frozen_point(line: StatementLine) -> Point:
    def f(v: Decimal | None) -> float | None:
        return None if v is None else float(v)

    return Point(
        line.statement.period_start,
        line.periods,
        f(line.value),
        f(line.lower),
        f(line.upper),
        line.numerator,
        line.denominator,
        line.population,
        line.boroughs_reporting,
    )


def shown_point(line: StatementLine, *, exact: bool) -> Point:
    """The line's figures as this reader may see them (docs/statistics.md, "Disclosure control")."""
    point = frozen_point(line)
    if exact:
        return point
    shown = controlled_point(point, line.measure_type)
    if line.measure_type == Measure.COUNT and shown.value is not None and line.periods_reported > 1:
        # A pooled count is an average per period: the rounded total, averaged.
        shown = replace(shown, value=shown.value / line.periods_reported)
    return shown


def latest_stances(line: StatementLine) -> dict[str, LineStance]:
    """The counting stance of each party on a line: the commissioner's, and each provider organisation's."""
    latest: dict[str, LineStance] = {}
    for stance in line.stances.all():  # prefetched, oldest first
        if stance.reset_at is not None:
            continue
        latest[party_key(stance.party, stance.organisation_id)] = stance
    return latest


def party_key(party: str, organisation_id: int) -> str:
    return "commissioner" if party == "commissioner" else f"provider:{organisation_id}"


def live_figures(statement: PaymentStatement, lines: list[StatementLine]) -> dict[int, Figures]:
    """The figures the lines' measures would have now (one query), by line id."""
    measure_ids = [line.measure_id for line in lines if line.measure_id]
    if not measure_ids:
        return {}
    measures = {m.pk: m for m in ContractMeasure.objects.filter(pk__in=measure_ids).select_related("indicator")}
    for m in measures.values():
        m.contract = statement.contract
    figures = period_figures(
        statement.contract,
        list(measures.values()),
        statement.period_start,
        statement.period_end,
        boroughs_total=len(statement.contract.boroughs.all()),
    )
    by_measure = {f.measure.pk: f for f in figures}
    return {line.pk: by_measure[line.measure_id] for line in lines if line.measure_id in by_measure}


def changes(line: StatementLine, live: Figures | None) -> dict[str, tuple[Any, Any]]:
    if live is None:
        return {}
    now = line_values(live)
    diff = {}
    for name in COMPARED:
        frozen, current = getattr(line, name), now[name]
        if isinstance(frozen, Decimal) and isinstance(current, Decimal | int):
            same = frozen == Decimal(current)
        else:
            same = frozen == current
        if not same:
            diff[name] = (frozen, current)
    return diff


def line_views(statement: PaymentStatement, *, exact: bool) -> list[LineView]:
    lines = list(statement.lines.all())
    for line in lines:
        line.statement = statement
    live = live_figures(statement, lines)
    return [
        LineView(
            line=line,
            shown=shown_point(line, exact=exact),
            latest=latest_stances(line),
            changed=changes(line, live.get(line.pk)),
            live=live.get(line.pk),
        )
        for line in lines
    ]


def statement_totals(lines: list[StatementLine]) -> dict[str, int]:
    return {
        "linked": sum(line.linked_pence for line in lines),
        "earned": sum(line.earned_pence for line in lines),
        "at_risk": sum(line.at_risk_pence for line in lines),
        "held": sum(line.held_pence for line in lines),
    }
