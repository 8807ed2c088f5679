"""Property: no public output shows a sub-national count below 5 or one not rounded to 5, and
subtracting the published boroughs from a published total never pins a suppressed borough down.

Each example writes borough values, runs the real aggregation, and reads every public output
of the cell: the overview page's tables, its CSV and JSON downloads, and /api/v1/metrics/.
The attacker is written independently of outcomes.statistics: it tries every combination of
the hidden boroughs' values (0 to 4 each) against the published totals.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import re

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outcomes.aggregation import metrics_recompute_cells
from outcomes.models import Door, Measure, PeriodType, Polarity
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory, OrganisationFactory, SubmissionFactory, UserFactory
from tests.outcomes.cells import aggregated_cell

pytestmark = pytest.mark.django_db

PERIOD = dt.date(2026, 2, 1)
BIG = 10**9


@pytest.fixture
def world(db):
    boroughs = list(
        Area.objects.filter(level=AreaLevel.BOROUGH).select_related("parent").order_by("parent__code", "code")
    )
    # Two sub-regions' boroughs, so totals and their neighbours both come into play.
    regions = sorted({b.parent.code for b in boroughs})[:2]
    pool = [b for b in boroughs if b.parent.code in regions][:12]
    org = OrganisationFactory()
    submission = SubmissionFactory(organisation=org, submitted_by=UserFactory(), door=Door.API)
    indicators = {
        measure: IndicatorFactory(
            code=f"prop-{measure}",
            name=f"Property {measure}",
            definition="d",
            measure=measure,
            polarity=Polarity.HIGHER_BETTER,
            period_type=PeriodType.MONTH,
        )
        for measure in (Measure.COUNT, Measure.PROPORTION)
    }
    return {"boroughs": pool, "org": org, "submission": submission, "indicators": indicators}


counts = st.one_of(st.integers(0, 12), st.integers(0, 60))
cells = st.lists(st.tuples(counts, st.integers(0, 40)), min_size=1, max_size=12)


def _outputs(client, indicator, measure):
    """(area code, level, numerator, denominator) as each public output publishes them; None = '*'."""
    found = {}
    document = json.loads(client.get(f"/dashboards/?indicator={indicator.code}&format=json").content)
    found["json"] = [(r["area"], r["area_level"], r["numerator"], r["denominator"]) for r in document["rows"]]
    text = client.get(f"/dashboards/?indicator={indicator.code}&format=csv").content.decode()

    def cell(value):
        return None if value in ("*", "") else int(value)

    found["csv"] = [
        (r["area_code"], r["area_level"], cell(r["numerator"]), cell(r["denominator"]))
        for r in csv.DictReader(io.StringIO(text))
    ]
    api = client.get(f"/api/v1/metrics/?indicator={indicator.code}&page_size=100").json()["results"]
    found["api"] = [(r["area"], r["area_level"], r["numerator"], r["denominator"]) for r in api]
    html = client.get(f"/dashboards/?indicator={indicator.code}").content.decode()
    numbers = []
    for row in re.findall(r"<tr class=\"nhsuk-table__row\">(.*?)</tr>", html, re.S):
        cells_ = re.findall(r'<td class="nhsuk-table__cell nhsuk-table__cell--numeric">(.*?)</td>', row, re.S)
        if len(cells_) >= 3:  # value, limits, numerator, [denominator,] [quintile]: the area tables
            columns = (0, 2) if measure == Measure.COUNT else (2, 3)
            numbers += [cells_[i].strip().replace(",", "") for i in columns]
    found["html"] = [n for n in numbers if n]
    return found


def _check_rounding(rows):
    for area, level, *figures in rows:
        for figure in figures:
            if figure is None:
                continue
            assert figure % 5 == 0, (area, figure)
            if level != "london":
                assert figure >= 5, (area, figure)


def _attack(rows, field, boroughs_by_region):
    """Hidden boroughs whose value every consistent combination agrees on."""
    by_code = {r[0]: r for r in rows}
    index = 2 if field == "numerator" else 3

    def bounds(code):
        shown = by_code[code][index]
        if shown is None:
            return (0, BIG)  # a hidden total could be anything
        return (max(5, shown - 2), shown + 2)

    london = next((r for r in rows if r[1] == "london"), None)
    if london is None:
        return set()
    london_bounds = (0, BIG) if london[index] is None else (max(5, london[index] - 2), london[index] + 2)
    hidden = [c for c, r in by_code.items() if r[1] == "borough" and r[index] is None]
    if not hidden:
        return set()
    seen = {c: set() for c in hidden}
    for combo in itertools.product(range(5), repeat=len(hidden)):
        guess = dict(zip(hidden, combo, strict=True))
        total_low = total_high = 0
        ok = True
        for region, members in boroughs_by_region.items():
            members = [m for m in members if m in by_code]
            if not members:
                continue
            low = sum(guess.get(m, bounds(m)[0]) if m in guess else bounds(m)[0] for m in members)
            high = sum(guess[m] if m in guess else bounds(m)[1] for m in members)
            r_low, r_high = bounds(region) if region in by_code else (0, BIG)
            low, high = max(low, r_low), min(high, r_high)
            if low > high:
                ok = False
                break
            total_low, total_high = total_low + low, total_high + high
        if ok and max(total_low, london_bounds[0]) <= min(total_high, london_bounds[1]):
            for code, value in guess.items():
                seen[code].add(value)
    return {code for code, values in seen.items() if len(values) == 1}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=cells, measure=st.sampled_from([Measure.COUNT, Measure.PROPORTION]))
# Four boroughs of 8 (shown as 10) and one of 0: their sub-region's 32 is shown as 30, which
# would leave exactly 0 for the hidden one without secondary suppression.
@example(values=[(8, 0), (8, 0), (8, 0), (8, 0), (0, 0)], measure=Measure.COUNT)
@example(values=[(8, 20), (8, 20), (8, 20), (8, 20), (0, 20)], measure=Measure.PROPORTION)
def test_public_outputs_never_show_or_reveal_a_small_count(client_for, world, values, measure):
    indicator = world["indicators"][measure]
    client = client_for(None)
    with aggregated_cell(world, indicator, values, PERIOD):
        outputs = _outputs(client, indicator, measure)

    for name in ("json", "csv", "api"):
        _check_rounding(outputs[name])
    for figure in outputs["html"]:
        if figure != "*":
            assert int(figure) % 5 == 0, figure
    assert sorted(outputs["json"]) == sorted(outputs["csv"]) == sorted(outputs["api"])

    regions: dict[str, list[str]] = {}
    for b in world["boroughs"]:
        regions.setdefault(b.parent.code, []).append(b.code)
    fields = ["numerator"] + (["denominator"] if measure == Measure.PROPORTION else [])
    for field in fields:
        assert not _attack(outputs["json"], field, regions), (field, outputs["json"])


# Breakdowns: an attacker who subtracts both ways ------------------------------------------
# Each example writes one count indicator's values by sex (female, male, not known) and for all
# people (their sum) in six boroughs of two sub-regions, runs the real aggregation, and reads every
# stored row as it would be published (a "*" when suppressed or hidden, otherwise the count
# rounded to 5). The attacker knows every total is the sum of its parts down the area tree, group
# by group, and that in each area the groups add up to all people; it chains subtractions along
# all of these until it learns nothing new, for each value 0 to 4 of each suppressed count in turn.
# Written apart from outcomes.statistics.group_suppression.

SEXES = ("female", "male", "not-known")
group_counts = st.lists(st.tuples(*(st.integers(0, 14) for _ in SEXES)), min_size=2, max_size=6)


def _shown(metric):
    if metric.suppressed:
        return "*"
    if metric.secondary_suppressed:
        return None  # hidden: could be anything
    count = int(metric.numerator)
    return count if count < 5 else 5 * ((count + 2) // 5)  # to the nearest 5 (whole counts: no halves)


def _lines(rows):
    """(total key, part keys) of every sum the attacker knows: down the tree by group, groups to all people."""
    lines = []
    keys = set(rows)
    by_group = {}
    for key, (_, level, parent) in rows.items():
        by_group.setdefault(key[1], []).append((key, level, parent))
    for members in by_group.values():
        for key, level, _ in members:
            if level == "borough":
                continue
            if level == "sub_region":
                parts = [k for k, lv, p in members if lv == "borough" and p == key[0]]
            else:
                parts = [k for k, lv, _ in members if lv == "sub_region"]
            if parts:
                lines.append((key, parts))
    for area, group in keys:
        if group == "":
            parts = [(area, g) for g in SEXES if (area, g) in keys]
            if parts:
                lines.append(((area, ""), parts))
    return lines


def _consistent(bounds, lines):
    """Chain subtractions until nothing changes; False when some count has no value left."""
    low = {k: b[0] for k, b in bounds.items()}
    high = {k: b[1] for k, b in bounds.items()}
    for _ in range(200):
        before = (dict(low), dict(high))
        for total, parts in lines:
            low[total] = max(low[total], sum(low[p] for p in parts))
            high[total] = min(high[total], sum(high[p] for p in parts))
            for p in parts:
                rest_low = sum(low[q] for q in parts if q != p)
                rest_high = sum(high[q] for q in parts if q != p)
                high[p] = min(high[p], high[total] - rest_low)
                low[p] = max(low[p], low[total] - rest_high)
        if any(low[k] > high[k] for k in low):
            return False
        if (low, high) == before:
            return True
    return True


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=group_counts)
# Camden-like: women 20 shown, men 3 suppressed; all people 23 (shown 25) would leave men 1 to 4.
@example(values=[(20, 3, 0), (9, 9, 9)])
# Four boroughs' women 8 (shown 10) and one's 0 in a sub-region of 32 (shown 30).
@example(values=[(8, 6, 6), (8, 6, 6), (8, 6, 6), (0, 6, 6), (8, 6, 6)])
# Found by hypothesis: three boroughs of one sub-region, women 0, 0 and 2; a whole borough of "*".
@example(values=[(0, 13, 14), (0, 13, 14), (2, 4, 4)])
def test_no_group_count_is_given_away_by_subtraction_either_way(world, values):
    from outcomes.models import Metric, OutcomeValue

    regions = sorted({b.parent.code for b in world["boroughs"]})
    pool = [b for r in regions for b in [b for b in world["boroughs"] if b.parent.code == r][:3]]
    with transaction.atomic():
        sid = transaction.savepoint()
        indicator = IndicatorFactory(
            code="prop-groups",
            name="Property groups",
            definition="d",
            measure=Measure.COUNT,
            polarity=Polarity.HIGHER_BETTER,
            period_type=PeriodType.MONTH,
            breakdowns=["sex"],
        )
        for borough, counts in zip(pool, values, strict=False):
            for group, count in (("", sum(counts)), *zip(SEXES, counts, strict=True)):
                OutcomeValue.objects.create(
                    organisation=world["org"],
                    indicator=indicator,
                    borough=borough,
                    period_start=PERIOD,
                    breakdown="sex" if group else "",
                    population_group=group,
                    numerator=count,
                    status="approved",
                    submission=world["submission"],
                    submitted_at=timezone.now(),
                )
        metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
        metrics = list(
            Metric.with_groups.of_basis("approved")
            .filter(indicator=indicator, period_start=PERIOD)
            .select_related("area")
        )
        transaction.savepoint_rollback(sid)

    rows, bounds, stars = {}, {}, []
    for m in metrics:
        key = (m.area_id, m.population_group)
        rows[key] = (m, m.area.level, m.area.parent_id)
        shown = _shown(m)
        if shown == "*":
            bounds[key] = (0, 4)
            stars.append(key)
        elif shown is None:
            bounds[key] = (0, BIG)
        else:
            assert shown % 5 == 0
            bounds[key] = (max(5, shown - 2), shown + 2)
    lines = _lines(rows)
    assert _consistent(bounds, lines)  # the published figures are consistent with the truth
    for star in stars:
        allowed = [v for v in range(5) if _consistent({**bounds, star: (v, v)}, lines)]
        table = sorted(
            (m.area.short_code, m.area.level, g, int(m.numerator), bounds[(a, g)]) for (a, g), (m, *_) in rows.items()
        )
        assert allowed == [0, 1, 2, 3, 4], (rows[star][0].area.short_code, star[1], allowed, values, table)
