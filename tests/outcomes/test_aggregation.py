"""Set-based aggregation into metrics, checked against hand-computed figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from outcomes.aggregation import metrics_rebuild_all, metrics_recompute_cells
from outcomes.models import Door, Indicator, Measure, Metric, OutcomeValue, PeriodType, Polarity, Population, Submission
from stakeholders.models import Area, AreaLevel
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

PERIOD = dt.date(2025, 4, 1)


@pytest.fixture
def submission(db):
    org = OrganisationFactory()
    return Submission.objects.create(organisation=org, submitted_by=UserFactory(), door=Door.API)


def _value(submission, indicator, borough, num, den=None, status="approved", org=None, period=PERIOD):
    return OutcomeValue.objects.create(
        organisation=org or submission.organisation,
        indicator=indicator,
        borough=Area.objects.get(short_code=borough),
        period_start=period,
        numerator=num,
        denominator=den,
        status=status,
        submission=submission,
        submitted_at=timezone.now(),
    )


def _metric(indicator, area_code, basis="approved"):
    return Metric.objects.get(indicator=indicator, area__short_code=area_code, period_start=PERIOD, basis=basis)


def test_a_proportion_sums_providers_and_has_wilson_limits(submission):
    indicator = Indicator.objects.create(
        code="p",
        name="P",
        definition="d",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
    )
    other = OrganisationFactory()
    _value(submission, indicator, "CMD", 30, 60)
    _value(submission, indicator, "CMD", 20, 40, org=other)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    camden = _metric(indicator, "CMD")
    # 50 of 100: Wilson 95% is 40.38% to 59.62%.
    assert camden.numerator == 50 and camden.denominator == 100 and camden.providers == 2
    assert camden.value == Decimal("50")
    assert float(camden.lower95) == pytest.approx(40.38, abs=0.01)
    assert float(camden.upper95) == pytest.approx(59.62, abs=0.01)
    # Camden rolls up into North Central London and London.
    assert _metric(indicator, "NCL").numerator == 50
    assert _metric(indicator, "LDN").numerator == 50


def test_a_rate_uses_the_population_and_byar_limits(submission):
    indicator = Indicator.objects.create(
        code="r",
        name="R",
        definition="d",
        measure=Measure.RATE,
        polarity=Polarity.LOWER_BETTER,
        period_type=PeriodType.YEAR,
    )
    camden = Area.objects.get(short_code="CMD")
    Population.objects.create(area=camden, year=2025, population=100_000)
    _value(submission, indicator, "CMD", 100)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    metric = _metric(indicator, "CMD")
    assert metric.value == Decimal("100")
    assert float(metric.lower95) == pytest.approx(81.36, abs=0.01)
    assert float(metric.upper95) == pytest.approx(121.63, abs=0.01)


def test_a_small_count_uses_exact_poisson_limits_and_is_suppressed_below_london(submission):
    indicator = Indicator.objects.create(
        code="c",
        name="C",
        definition="d",
        measure=Measure.COUNT,
        polarity=Polarity.LOWER_BETTER,
        period_type=PeriodType.MONTH,
    )
    _value(submission, indicator, "CMD", 3)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    camden = _metric(indicator, "CMD")
    assert float(camden.lower95) == pytest.approx(0.6187, abs=1e-4)
    assert float(camden.upper95) == pytest.approx(8.7673, abs=1e-4)
    assert camden.suppressed
    assert not _metric(indicator, "LDN").suppressed


def test_only_approved_values_count_unless_provisional(submission):
    indicator = Indicator.objects.create(
        code="c2", name="C", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    _value(submission, indicator, "CMD", 10)
    _value(submission, indicator, "ISL", 20, status="submitted")
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    assert _metric(indicator, "LDN", "approved").numerator == 10
    assert _metric(indicator, "LDN", "provisional").numerator == 30
    assert not Metric.objects.filter(area__short_code="ISL", basis="approved").exists()


def test_boroughs_are_compared_with_london_and_ranked_into_quintiles(submission):
    indicator = Indicator.objects.create(
        code="q",
        name="Q",
        definition="d",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
    )
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("name")[:10])
    for index, borough in enumerate(boroughs):
        _value(submission, indicator, borough.short_code, 100 + index * 80, 1000)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    lowest = _metric(indicator, boroughs[0].short_code)
    highest = _metric(indicator, boroughs[-1].short_code)
    assert lowest.comparison == "much_worse" and lowest.quintile == 5
    assert highest.comparison == "much_better" and highest.quintile == 1
    assert _metric(indicator, "LDN").comparison == "not_compared"


def test_recomputing_twice_or_rebuilding_everything_leaves_identical_rows(submission):
    indicator = Indicator.objects.create(
        code="i", name="I", definition="d", measure=Measure.PROPORTION, period_type=PeriodType.MONTH
    )
    for code in ("CMD", "ISL", "LAM", "HCK", "BRN", "CRD"):
        _value(submission, indicator, code, 40, 100)
    cell = [(indicator.pk, PERIOD.isoformat())]
    metrics_recompute_cells(cell)
    before = list(Metric.objects.order_by("pk").values())
    assert metrics_recompute_cells(cell) == 0
    metrics_rebuild_all()
    assert list(Metric.objects.order_by("pk").values()) == before


def test_a_cell_whose_values_are_all_rejected_loses_its_metrics(submission):
    indicator = Indicator.objects.create(
        code="x", name="X", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    value = _value(submission, indicator, "CMD", 12)
    cell = [(indicator.pk, PERIOD.isoformat())]
    metrics_recompute_cells(cell)
    assert Metric.objects.filter(indicator=indicator).exists()
    OutcomeValue.objects.filter(pk=value.pk).update(status="rejected")
    metrics_recompute_cells(cell)
    assert not Metric.objects.filter(indicator=indicator).exists()
