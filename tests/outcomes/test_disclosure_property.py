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
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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
