"""An action's page shows each linked indicator's live figures: latest published figure for the
plan's areas and London, its trend, and the distance to the action's target (issue 21)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from outcomes.models import Metric
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory, MetricFactory

pytestmark = pytest.mark.django_db


def _indicator(code: str, polarity: str = "higher"):
    return IndicatorFactory(
        code=code,
        name=f"Indicator {code}",
        definition="x",
        measure="proportion",
        period_type="month",
        polarity=polarity,
    )


@pytest.fixture
def camden_plan(make_plan):
    return make_plan(title="Camden plan", scope="boroughs", areas=[Area.objects.get(short_code="CMD")])


def _series(indicator, short_code: str, values: list[str], **fields) -> None:
    for month, value in enumerate(values, start=1):
        fields.setdefault("numerator", Decimal(value))
        MetricFactory(
            indicator=indicator,
            area=Area.objects.get(short_code=short_code),
            period_start=dt.date(2026, month, 1),
            value=Decimal(value),
            denominator=100,
            **fields,
        )


def test_the_action_page_shows_the_latest_figure_trend_and_distance_to_target(client_for, camden_plan, make_action):
    recovery = _indicator("recovery")
    _series(recovery, "CMD", ["40", "42", "45.04"], trend="increasing")
    _series(recovery, "LDN", ["50", "50", "51"])
    action = make_action(camden_plan, indicators={recovery: Decimal("50")})
    page = client_for(None).get(f"/plans/{camden_plan.slug}/actions/{action.pk}/").content.decode()
    assert "45.0% in 2026-03" in page
    assert "From 40.0% in 2026-01 to 45.0% in 2026-03." in page
    assert "Trend: increasing and getting better." in page
    assert "5.0 percentage points below the target of 50.0%: not yet reached." in page
    assert "1.0 percentage points above the target of 50.0%: target reached." in page  # London


def test_without_a_target_the_page_shows_the_figures_and_says_no_target_is_set(client_for, camden_plan, make_action):
    detentions = _indicator("detentions", polarity="lower")
    _series(detentions, "CMD", ["30"])
    action = make_action(camden_plan, indicators={detentions: None})
    page = client_for(None).get(f"/plans/{camden_plan.slug}/actions/{action.pk}/").content.decode()
    assert "30.0% in 2026-01" in page
    assert "No target is set, so there is no distance to show." in page
    assert "the target of" not in page


def test_a_suppressed_latest_figure_is_not_set_against_the_target(client_for, camden_plan, make_action):
    recovery = _indicator("recovery")
    _series(recovery, "CMD", ["2"], numerator=Decimal(2), suppressed=True)
    action = make_action(camden_plan, indicators={recovery: Decimal("50")})
    page = client_for(None).get(f"/plans/{camden_plan.slug}/actions/{action.pk}/").content.decode()
    assert "* in 2026-01 (suppressed)" in page
    assert "No published figure to set against the target of 50.0%." in page
    assert "2.0%" not in page


@pytest.mark.parametrize(("links", "months"), [(1, 2), (5, 24)])
def test_the_action_page_runs_a_fixed_number_of_queries(
    client_for, camden_plan, make_action, django_assert_num_queries, links, months
):
    indicators = [_indicator(f"ind-{i}") for i in range(links)]
    areas = [Area.objects.get(short_code="CMD"), Area.objects.get(level=AreaLevel.LONDON)]
    Metric.objects.bulk_create(
        Metric(
            indicator=ind,
            area=area,
            period_start=dt.date(2024 + m // 12, m % 12 + 1, 1),
            basis="approved",
            numerator=40,
            denominator=100,
            value=Decimal(40),
            computed_at=timezone.now(),
        )
        for ind in indicators
        for area in areas
        for m in range(months)
    )
    action = make_action(camden_plan, indicators={ind: Decimal("45") for ind in indicators})
    client = client_for(None)
    url = f"/plans/{camden_plan.slug}/actions/{action.pk}/"
    with django_assert_num_queries(QUERIES):
        assert client.get(url).status_code == 200


# The plan, the action and its prefetches (milestones, indicator links, dependencies, partners,
# evidence, progress notes, priority areas, dependents, co-owners), then the voice panel and the
# figures: London, the plan's areas, the recent metrics.
QUERIES = 14
