"""Figures by population group: every metric per group at every level, the gap measures, and
disclosure control both ways (docs/statistics.md, "Figures by population group")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from outcomes.aggregation import metrics_rebuild_all, metrics_recompute_cells
from outcomes.models import (
    Door,
    InequalityMetric,
    Measure,
    Metric,
    OutcomeValue,
    PeriodType,
    Polarity,
    Population,
)
from outcomes.statistics import (
    Z95,
    GroupCell,
    GroupFigure,
    group_suppression,
    inequality,
    published_bounds,
    rate_limits,
    slope_index,
)
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory, OrganisationFactory, SubmissionFactory, UserFactory

PERIOD = dt.date(2025, 4, 1)


# The gap measures, by hand ---------------------------------------------------------------


def test_best_and_worst_follow_the_polarity_and_the_gap_is_worst_minus_best():
    figures = [GroupFigure("female", 30.0), GroupFigure("male", 20.0), GroupFigure("not-known", 90.0)]
    higher = inequality(figures, "higher", "sex")
    # "not known" never takes part: 90 would otherwise be best
    assert (higher.best_group, higher.worst_group, higher.groups_compared) == ("female", "male", 2)
    assert higher.gap == pytest.approx(-10.0) and higher.ratio == pytest.approx(20 / 30)
    lower = inequality(figures, "lower", "sex")
    assert (lower.best_group, lower.worst_group) == ("male", "female")
    assert lower.gap == pytest.approx(10.0) and lower.ratio == pytest.approx(1.5)
    none = inequality(figures, "none", "sex")  # no judgement: best is the highest, worst the lowest
    assert (none.best_group, none.worst_group) == ("female", "male")
    assert not higher.suppressed and higher.sii is None  # the SII is for deprivation only


def test_a_gap_needs_two_published_groups_and_a_ratio_a_non_zero_best():
    one = inequality([GroupFigure("female", 30.0), GroupFigure("male", 20.0, published=False)], "higher", "sex")
    assert one.suppressed and one.groups_compared == 1 and one.gap is None and one.best_group == ""
    zero = inequality([GroupFigure("female", 0.0), GroupFigure("male", 5.0)], "lower", "sex")
    assert zero.gap == pytest.approx(5.0) and zero.ratio is None


def _quintiles(values, se=2.0, weights=(1, 1, 1, 1, 1)):
    half = Z95 * se
    return [
        GroupFigure(f"q{k + 1}", v, v - half, v + half, weight=w)
        for k, (v, w) in enumerate(zip(values, weights, strict=True))
    ]


def test_the_slope_index_by_hand_with_equal_quintiles():
    # Equal fifths sit at 0.1, 0.3, ..., 0.9; the values fall on y = 55 - 50 x exactly, so the slope
    # is -50 and SII (most deprived end less least deprived end) is 50. The mean is 30: RII 5/3.
    # The slope's weights c_i = p_i (x_i - 0.5) / Sxx with Sxx = 0.08 are -1, -0.5, 0, 0.5, 1; with
    # every standard error 2, var = 4 x 2.5 = 10.
    sii, low, high, rii, rii_low, rii_high = slope_index(_quintiles([50, 40, 30, 20, 10]))
    assert sii == pytest.approx(50)
    assert (low, high) == (pytest.approx(50 - Z95 * 10**0.5), pytest.approx(50 + Z95 * 10**0.5))
    assert rii == pytest.approx(50 / 30)
    assert (rii_low, rii_high) == (pytest.approx(low / 30), pytest.approx(high / 30))


def test_the_slope_index_weights_the_quintiles_by_population():
    # Shares 0.4, 0.1, 0.1, 0.1, 0.3: midpoints 0.2, 0.45, 0.55, 0.65, 0.85 (mean 0.5).
    # Values 10, 0, 0, 0, 0: ybar = 4; slope = sum p (x - 0.5) (y - 4) / sum p (x - 0.5)^2
    # = 0.4 x -0.3 x 6 + 0.1 x (-0.05 x -4 + 0.05 x -4 + 0.15 x -4) + 0.3 x 0.35 x -4 = -1.2
    #   over 0.4 x 0.09 + 0.1 x (0.0025 + 0.0025 + 0.0225) + 0.3 x 0.1225 = 0.0755.
    figures = _quintiles([10, 0, 0, 0, 0], weights=(40, 10, 10, 10, 30))
    sii, *_, rii, _, _ = slope_index(figures)
    assert sii == pytest.approx(1.2 / 0.0755)
    assert rii == pytest.approx(1.2 / 0.0755 / 4)


def test_the_sii_needs_all_five_quintiles_published():
    figures = _quintiles([50, 40, 30, 20, 10])
    full = inequality(figures, "lower", "deprivation")
    assert full.sii == pytest.approx(50) and full.best_group == "q5" and full.worst_group == "q1"
    hidden = [*figures[:4], GroupFigure("q5", 10.0, 6.0, 14.0, weight=1, published=False)]
    partial = inequality(hidden, "lower", "deprivation")
    assert partial.sii is None and partial.rii is None and partial.groups_compared == 4 and partial.gap is not None


# Disclosure both ways, by hand ------------------------------------------------------------


def _cell(area, group, count, level="borough", parent="R"):
    return GroupCell(area=area, level=level, parent=parent, group=group, count=count)


def test_an_area_total_less_its_shown_groups_cannot_give_a_group_away():
    # Camden: all people 23 (shown 25: 23 to 27), female 20 (shown 20: 18 to 22), male 3 ("*").
    # Subtracting gives male 1 to 9 with "*" 0 to 4: 1 to 4, so 0 is ruled out. Hiding female
    # (the only other shown group) ends it.
    cells = [_cell("CMD", "female", 20), _cell("CMD", "male", 3)]
    totals = [_cell("CMD", "", 23)]
    assert group_suppression(cells, totals, exhaustive=True) == {("CMD", "female")}
    # The groups add up only to at most the total (deprivation): nothing can be subtracted to a floor.
    assert group_suppression(cells, totals, exhaustive=False) == set()


def test_a_group_total_less_its_shown_boroughs_cannot_give_a_borough_away():
    # Four boroughs' women 8 each (shown 10) and one's 0: the sub-region's 32 (shown 30) leaves
    # exactly 0. Hiding the sub-region's women alone is not enough (London's, the same 32, would
    # leave the same), nor London's alone: one neighbouring borough's women are hidden instead.
    cells = [_cell(f"B{k}", "female", 8) for k in range(4)] + [_cell("B4", "female", 0)]
    cells += [_cell("R", "female", 32, level="sub_region", parent="L"), _cell("L", "female", 32, "london", None)]
    assert _narrowed(cells, [], set())
    hidden = group_suppression(cells, [], exhaustive=True)
    assert hidden == {("B0", "female")}
    assert not _narrowed(cells, [], hidden)


def test_an_all_people_figure_is_hidden_only_when_it_alone_gives_the_groups_away():
    # Two groups, 4 and 4, both "*"; all people 8, shown as 10 (8 to 12): each group must be 4.
    cells = [_cell("CMD", "female", 4), _cell("CMD", "male", 4)]
    totals = [_cell("CMD", "", 8)]
    assert _narrowed(cells, totals, set())
    hidden = group_suppression(cells, totals, exhaustive=True)
    assert hidden == {("CMD", "")}
    assert not _narrowed(cells, totals, hidden)


def _narrowed(cells, totals, hidden):
    """An attacker's check written apart: try each value 0-4 of each "*" against every line."""
    everything = cells + totals
    stars = [c for c in everything if c.count < 5 and (c.area, c.group) not in hidden]

    def bounds(c):
        return published_bounds(c.count, hidden=(c.area, c.group) in hidden)

    for star in stars:
        for value in range(5):
            ok = True
            for group in {c.group for c in everything}:
                members = [c for c in everything if c.group == group]
                for total in (c for c in members if c.level != "borough"):
                    parts = [c for c in members if c.parent == total.area]
                    if not parts:
                        continue
                    low = sum(value if p is star else bounds(p)[0] for p in parts)
                    high = sum(value if p is star else bounds(p)[1] for p in parts)
                    t_low, t_high = (value, value) if total is star else bounds(total)
                    if max(low, t_low) > min(high, t_high):
                        ok = False
            for total in totals:  # each area's groups add up to its all-people figure
                parts = [c for c in cells if c.area == total.area]
                low = sum(value if p is star else bounds(p)[0] for p in parts)
                high = sum(value if p is star else bounds(p)[1] for p in parts)
                t_low, t_high = (value, value) if total is star else bounds(total)
                if parts and max(low, t_low) > min(high, t_high):
                    ok = False
            if not ok:
                return True
    return False


# Through the database ---------------------------------------------------------------------


@pytest.fixture
def submission(db):
    org = OrganisationFactory()
    return SubmissionFactory(organisation=org, submitted_by=UserFactory(), door=Door.API)


def _value(submission, indicator, borough, num, den=None, breakdown="", group="", status="approved", period=PERIOD):
    return OutcomeValue.objects.create(
        organisation=submission.organisation,
        indicator=indicator,
        borough=Area.objects.get(short_code=borough),
        period_start=period,
        breakdown=breakdown,
        population_group=group,
        numerator=num,
        denominator=den,
        status=status,
        submission=submission,
        submitted_at=timezone.now(),
    )


def _metric(indicator, area, group="", breakdown=None, basis="approved"):
    breakdown = breakdown if breakdown is not None else ("" if not group else "sex")
    return Metric.with_groups.of_basis(basis).get(
        indicator=indicator, area__short_code=area, period_start=PERIOD, breakdown=breakdown, population_group=group
    )


def _all_rows():
    fields = [f.name for f in Metric._meta.fields if f.name not in ("id", "computed_at")]
    return list(Metric.with_groups.order_by(*fields[:6], "breakdown", "population_group").values(*fields))


def _all_gaps():
    fields = [f.name for f in InequalityMetric._meta.fields if f.name not in ("id", "computed_at")]
    return list(
        InequalityMetric.objects.order_by("indicator", "area", "period_start", "basis", "breakdown").values(*fields)
    )


@pytest.mark.django_db
def test_groups_get_every_figure_at_every_level_and_leave_the_headline_as_it_was(submission):
    indicator = IndicatorFactory(
        code="g",
        name="G",
        definition="d",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        breakdowns=["sex"],
    )
    _value(submission, indicator, "CMD", 50, 100)
    cell = [(indicator.pk, PERIOD.isoformat())]
    metrics_recompute_cells(cell)
    headline_before = _metric(indicator, "CMD")
    # Groups added: women 40 of 60, men 10 of 40 in Camden; Islington's women 30 of 50.
    _value(submission, indicator, "CMD", 40, 60, "sex", "female")
    _value(submission, indicator, "CMD", 20, 80, "sex", "male")
    _value(submission, indicator, "ISL", 30, 50, "sex", "female")
    metrics_recompute_cells(cell)
    headline = _metric(indicator, "CMD")
    assert (headline.numerator, headline.denominator, headline.value) == (50, 100, Decimal("50"))
    assert headline.value == headline_before.value and headline.lower95 == headline_before.lower95
    assert _metric(indicator, "LDN").numerator == 50  # group values never add into the all-people figure
    women = _metric(indicator, "CMD", "female")
    assert (women.numerator, women.denominator, women.value) == (40, 60, Decimal("66.666667"))
    assert women.quintile is None and women.providers == 1
    # Women in North Central London and in London: Camden's and Islington's.
    assert (
        _metric(indicator, "NCL", "female").numerator == 70 and _metric(indicator, "LDN", "female").denominator == 110
    )
    # Compared with Camden's all-people 50% (Wilson 95% 40.38 to 59.62): women 66.7% (54.1 to 77.3) better,
    # men 25% of 80 much worse (London outside their 99.8% limits).
    assert women.comparison == "better"
    assert _metric(indicator, "CMD", "male").comparison == "much_worse"
    # Islington has no all-people figure: nothing to compare its women with.
    assert _metric(indicator, "ISL", "female").comparison == "not_compared"
    # London's group is compared with London's all-people figure (50 of 100).
    assert _metric(indicator, "LDN", "male").comparison == "much_worse"


@pytest.mark.django_db
def test_a_groups_rate_uses_the_groups_population(submission):
    indicator = IndicatorFactory(
        code="gr", name="GR", definition="d", measure=Measure.RATE, period_type=PeriodType.YEAR, breakdowns=["sex"]
    )
    camden = Area.objects.get(short_code="CMD")
    Population.objects.create(area=camden, year=2025, population=200_000)
    Population.objects.create(area=camden, year=2025, breakdown="sex", population_group="female", population=100_000)
    _value(submission, indicator, "CMD", 300)
    _value(submission, indicator, "CMD", 100, breakdown="sex", group="female")
    _value(submission, indicator, "CMD", 200, breakdown="sex", group="male")  # no population for men
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    women = _metric(indicator, "CMD", "female")
    assert women.population == 100_000 and women.value == Decimal("100")
    low, high = rate_limits(100, 100_000, 95)
    assert float(women.lower95) == pytest.approx(low, abs=1e-6) and float(women.upper95) == pytest.approx(
        high, abs=1e-6
    )
    assert _metric(indicator, "CMD").value == Decimal("150")
    men = _metric(indicator, "CMD", "male")
    assert men.population is None and men.value is None and men.comparison == "not_compared"


@pytest.mark.django_db
def test_gap_measures_and_the_sii_from_the_quintiles(submission):
    indicator = IndicatorFactory(
        code="gd",
        name="GD",
        definition="d",
        measure=Measure.PROPORTION,
        polarity=Polarity.LOWER_BETTER,
        breakdowns=["deprivation"],
    )
    _value(submission, indicator, "CMD", 300, 1000)
    for k, num in enumerate((100, 80, 60, 40, 20)):
        _value(submission, indicator, "CMD", num, 200, "deprivation", f"q{k + 1}")
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    gap = InequalityMetric.objects.get(indicator=indicator, area__short_code="CMD", basis="approved")
    assert (gap.best_group, gap.worst_group, gap.groups_compared, gap.suppressed) == ("q5", "q1", 5, False)
    assert gap.best_value == Decimal("10") and gap.worst_value == Decimal("50")
    assert gap.gap == Decimal("40") and gap.ratio == Decimal("5")
    # 50, 40, 30, 20, 10 % in equal fifths: SII 50 points (y = 55 - 50 x), RII 50 / 30.
    assert float(gap.sii) == pytest.approx(50, abs=1e-6)
    assert float(gap.rii) == pytest.approx(50 / 30, abs=1e-6)
    assert gap.sii_lower95 < gap.sii < gap.sii_upper95
    # One row for both bases: the provisional figures are the approved ones here.
    assert InequalityMetric.objects.filter(indicator=indicator, area__short_code="CMD").count() == 1
    # A quintile suppressed (3 of 200): no SII, and the gap from the four left.
    OutcomeValue.objects.filter(indicator=indicator, population_group="q5").update(numerator=3)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    gap.refresh_from_db()
    assert gap.sii is None and gap.groups_compared == 4 and gap.best_group == "q4"


@pytest.mark.django_db
def test_a_first_build_leaves_the_gap_measures_table_analysed(submission):
    """Its statistics would otherwise describe the empty table (autovacuum comes later, or never)."""
    indicator = IndicatorFactory(code="ga", name="A", definition="d", measure=Measure.PROPORTION, breakdowns=["sex"])
    for borough in ("CMD", "ISL"):
        _value(submission, indicator, borough, 30, 100)
        _value(submission, indicator, borough, 20, 50, "sex", "female")
        _value(submission, indicator, borough, 10, 50, "sex", "male")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE outcomes_inequalitymetric")
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'outcomes_inequalitymetric'::regclass")
        assert cursor.fetchone()[0] <= 0  # empty (or never analysed)
        metrics_rebuild_all()
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'outcomes_inequalitymetric'::regclass")
        assert cursor.fetchone()[0] == InequalityMetric.objects.count() > 0


@pytest.mark.django_db
def test_the_rebuild_writes_exactly_the_group_rows_and_gaps_of_the_incremental_path(submission):
    indicators = [
        IndicatorFactory(
            code=f"gx{n}",
            name="X",
            definition="d",
            measure=measure,
            breakdowns=["sex", "deprivation"],
            polarity=(Polarity.HIGHER_BETTER, Polarity.LOWER_BETTER, Polarity.NO_JUDGEMENT)[n % 3],
        )
        for n, measure in enumerate((Measure.PROPORTION, Measure.COUNT, Measure.RATE, Measure.MEAN))
    ]
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("code")[:12])
    for b in boroughs:
        Population.objects.create(area=b, year=2025, population=250_000)
        for k in range(5):
            Population.objects.create(
                area=b, year=2025, breakdown="deprivation", population_group=f"q{k + 1}", population=30_000 + 5_000 * k
            )
    cells = []
    for n, indicator in enumerate(indicators):
        for month in (dt.date(2025, m, 1) for m in range(1, 7)):
            cells.append((indicator.pk, month.isoformat()))
            for j, b in enumerate(boroughs):
                total_num = 0
                for k, group in enumerate(("female", "male", "not-known")):
                    num = (j * 7 + k * 5 + month.month * 3 + n) % 23  # small ones too
                    total_num += num
                    den = num + 30 if indicator.measure in (Measure.PROPORTION, Measure.MEAN) else None
                    status = "submitted" if (j + k + month.month) % 9 == 0 else "approved"
                    _value(submission, indicator, b.short_code, num, den, "sex", group, status=status, period=month)
                for k in range(5):
                    num = 5 + (j * 3 + k * 11 + month.month) % 40
                    den = num + 50 if indicator.measure in (Measure.PROPORTION, Measure.MEAN) else None
                    _value(submission, indicator, b.short_code, num, den, "deprivation", f"q{k + 1}", period=month)
                den = total_num + 90 if indicator.measure in (Measure.PROPORTION, Measure.MEAN) else None
                _value(submission, indicator, b.short_code, total_num, den, period=month)
    metrics_recompute_cells(cells)
    incremental, gaps = _all_rows(), _all_gaps()
    assert any(r["breakdown"] and r["secondary_suppressed"] for r in incremental)
    assert any(r["breakdown"] and r["trend"] for r in incremental)
    assert any(g["sii"] is not None for g in gaps) and any(g["gap"] is not None for g in gaps)
    assert metrics_recompute_cells(cells) == 0
    assert metrics_rebuild_all() == 0  # nothing to change: nothing written
    Metric.with_groups.all().delete()
    InequalityMetric.objects.all().delete()
    assert metrics_rebuild_all() > 0
    assert _all_rows() == incremental
    assert _all_gaps() == gaps
