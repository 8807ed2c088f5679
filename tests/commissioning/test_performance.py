"""Contract performance, checked by hand: figures over the contract's boroughs come from summed
numerators and denominators, not from averaging the boroughs' rates."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from commissioning import selectors, services
from outcomes.models import Metric
from stakeholders.models import Area
from tests.commissioning.conftest import add_metric, borough
from tests.factories import IndicatorFactory

pytestmark = pytest.mark.django_db

JAN, DEC = dt.date(2026, 1, 1), dt.date(2025, 12, 1)
Z = 1.959963984540054


def _wilson_by_hand(x: float, n: float) -> tuple[float, float]:
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return 100 * (centre - half), 100 * (centre + half)


def _performance(contract):
    return selectors.contract_performance(contract, list(selectors.contract_measures(contract)))


@pytest.fixture
def recovery_figures(recovery):
    camden, islington = borough("CMD"), borough("ISL")
    add_metric(recovery, camden, JAN, 90, 100)  # 90%
    add_metric(recovery, islington, JAN, 10, 300)  # 3.3%
    add_metric(recovery, camden, DEC, 40, 100)
    add_metric(recovery, islington, DEC, 60, 100)
    # Not part of the contract: another borough, London itself, and provisional figures.
    add_metric(recovery, borough("LAM"), JAN, 1000, 1000)
    add_metric(recovery, Area.objects.get(short_code="LDN"), JAN, 5000, 6000)
    add_metric(recovery, camden, JAN, 100, 100, basis=Metric.Basis.PROVISIONAL)
    return recovery


def test_the_latest_value_is_the_summed_numerators_over_the_summed_denominators(contract, recovery_figures):
    services.measure_create(actor=None, contract=contract, indicator=recovery_figures, target=Decimal(30), share_bp=500)
    [row] = _performance(contract)
    latest = row.latest
    assert latest.period == "2026-01"
    assert (latest.numerator, latest.denominator, latest.boroughs_reporting) == (Decimal(100), 400, 2)
    # 100 / 400 = 25%, where averaging the boroughs' rates would give (90% + 3.3%) / 2 = 46.7%.
    assert latest.value == pytest.approx(25.0)
    low, high = _wilson_by_hand(100, 400)
    assert (latest.lower, latest.upper) == (pytest.approx(low), pytest.approx(high))
    assert round(latest.lower, 1), round(latest.upper, 1) == (21.0, 29.5)
    assert [p.period for p in row.trend] == ["2025-12", "2026-01"]
    assert row.trend[0].value == pytest.approx(50.0)


def test_a_missed_target_puts_its_share_at_risk(contract, recovery_figures):
    # 25% against a target of 30% (higher is better): not met, so 5% of £1,200,000 is at risk.
    services.measure_create(actor=None, contract=contract, indicator=recovery_figures, target=Decimal(30), share_bp=500)
    [row] = _performance(contract)
    assert row.judgement == "not_met"
    assert (row.linked_pence, row.earned_pence, row.at_risk_pence) == (6_000_000, 0, 6_000_000)


def test_a_met_target_earns_its_share(contract, recovery_figures):
    # 25% with the interval 21.0% to 29.5%: wholly above a target of 20%.
    services.measure_create(actor=None, contract=contract, indicator=recovery_figures, target=Decimal(20), share_bp=250)
    [row] = _performance(contract)
    assert row.judgement == "met"
    assert (row.earned_pence, row.at_risk_pence) == (3_000_000, 0)


def test_a_target_inside_the_interval_is_not_yet_certain_and_its_share_is_held(contract, recovery_figures):
    # 25% with the interval 21.0% to 29.5%: a target of 25% may be met or missed (the one rule, judge()).
    services.measure_create(actor=None, contract=contract, indicator=recovery_figures, target=Decimal(25), share_bp=250)
    [row] = _performance(contract)
    assert (row.judgement, row.judgement_label) == ("unknown", "Not yet certain")
    assert (row.earned_pence, row.at_risk_pence, row.pending_pence) == (0, 0, 3_000_000)


def test_rates_sum_events_and_populations_and_lower_is_better(contract, detentions):
    q1 = dt.date(2026, 1, 1)
    add_metric(detentions, borough("CMD"), q1, 10, population=200_000)
    add_metric(detentions, borough("ISL"), q1, 30, population=200_000)
    # Lower is better: the whole interval (7.1 to 13.6) lies at or below 14.
    services.measure_create(actor=None, contract=contract, indicator=detentions, target=Decimal(14), share_bp=1000)
    [row] = _performance(contract)
    assert row.latest.period == "2026-Q1"
    assert row.latest.value == pytest.approx(10.0)  # 40 events in 400,000 people
    # Byar's limits for 40 events, per 100,000 of 400,000.
    low = 40 * (1 - 1 / 360 - Z / (3 * math.sqrt(40))) ** 3 / 4
    high = 41 * (1 - 1 / 369 + Z / (3 * math.sqrt(41))) ** 3 / 4
    assert (row.latest.lower, row.latest.upper) == (pytest.approx(low), pytest.approx(high))
    assert row.judgement == "met"
    assert row.earned_pence == 12_000_000


def test_without_figures_the_judgement_is_not_yet_known(contract, recovery):
    services.measure_create(actor=None, contract=contract, indicator=recovery, target=Decimal(30), share_bp=500)
    [row] = _performance(contract)
    assert (row.latest, row.judgement, row.earned_pence, row.at_risk_pence, row.pending_pence) == (
        None,
        "unknown",
        0,
        0,
        6_000_000,
    )


def test_the_overview_splits_each_contract_evenly_across_its_boroughs(contract, commissioner, recovery_figures):
    services.measure_create(actor=None, contract=contract, indicator=recovery_figures, target=Decimal(30), share_bp=500)
    view = selectors.overview(user=commissioner)
    assert view.contracts == 1
    assert view.total_pence == 120_000_000
    assert {r["area__name"]: r["total"] for r in view.by_borough} == {"Camden": 60_000_000, "Islington": 60_000_000}
    assert view.outcome_linked_pence == 6_000_000
    assert view.outcome_linked_percent == pytest.approx(5.0)
    assert (view.measures, view.measures_met, view.measures_not_met) == (1, 0, 1)


# Disclosure control: exact for commissioners of every borough, controlled for everyone else ------


@pytest.fixture
def contacts(db):
    from outcomes.models import Measure, PeriodType, Polarity

    return IndicatorFactory(
        code="contacts",
        name="Crisis contacts",
        definition="People in contact with crisis teams.",
        measure=Measure.COUNT,
        polarity=Polarity.LOWER_BETTER,
        period_type=PeriodType.MONTH,
        unit="people",
    )


@pytest.fixture
def small_figures(contract, contacts, recovery):
    """Camden and Islington in January: 23 + 3 = 26 contacts; 3 of 12 recovered (a small number)."""
    add_metric(contacts, borough("CMD"), JAN, 23)
    add_metric(contacts, borough("ISL"), JAN, 3)
    add_metric(recovery, borough("CMD"), JAN, 2, 8)
    add_metric(recovery, borough("ISL"), JAN, 1, 4)
    services.measure_create(actor=None, contract=contract, indicator=contacts, target=Decimal(40), share_bp=100)
    services.measure_create(actor=None, contract=contract, indicator=recovery, target=Decimal(10), share_bp=100)
    return contract


def _api_points(client, contract) -> dict[str, dict]:
    body = client.get(f"/api/v1/contracts/{contract.pk}/performance/").json()
    return {row["indicator"]: row for row in body["measures"]}


def test_commissioners_of_every_borough_see_exact_summed_figures(client_for, commissioner, small_figures):
    rows = _api_points(client_for(commissioner), small_figures)
    assert rows["contacts"]["latest"]["numerator"] == "26.0000" and rows["contacts"]["latest"]["value"] == 26.0
    assert rows["contacts"]["latest"]["controlled"] is False
    assert rows["test-recovery"]["latest"]["value"] == pytest.approx(25.0)  # 3 of 12
    html = client_for(commissioner).get(f"/commissioning/contracts/{small_figures.pk}/performance/").content.decode()
    assert ">26<" in html and 'id="disclosure-control"' not in html


def test_the_contracts_providers_see_counts_rounded_and_small_ones_suppressed(client_for, provider, small_figures):
    rows = _api_points(client_for(provider), small_figures)
    contacts, recovery = rows["contacts"]["latest"], rows["test-recovery"]["latest"]
    assert contacts["controlled"] is True
    assert contacts["numerator"] == "25.0000" and contacts["value"] == 25.0  # 26 rounded to 5
    assert contacts["lower95"] is None and contacts["upper95"] is None  # they would undo the rounding
    assert recovery["numerator"] is None and recovery["denominator"] == 10  # 3 is "*", 12 rounds to 10
    assert recovery["value"] is None and recovery["suppressed"] is True
    # The judgement is the contract's, on the exact figures: 26 contacts (17.0 to 38.1) against 40.
    assert rows["contacts"]["judgement"] == "met"
    html = client_for(provider).get(f"/commissioning/contracts/{small_figures.pk}/performance/").content.decode()
    assert 'id="disclosure-control"' in html
    assert ">26<" not in html and "26 people" not in html and "25 people" in html
    assert "25.0 %" not in html  # 3 of 12 is hidden


def test_the_public_sees_no_performance_at_all(client_for, small_figures):
    # A private contract does not exist for the public (404); a published one's performance asks
    # them to sign in first.
    assert client_for(None).get(f"/commissioning/contracts/{small_figures.pk}/performance/").status_code == 404
    small_figures.publishable = True
    small_figures.save(update_fields=["publishable"])
    response = client_for(None).get(f"/commissioning/contracts/{small_figures.pk}/performance/")
    assert response.status_code == 302 and response["Location"].startswith("/account/sign-in/")
    assert client_for(None).get(f"/api/v1/contracts/{small_figures.pk}/performance/").status_code in (401, 403, 404)


def test_a_count_summed_over_fewer_boroughs_than_the_contract_covers_is_not_judged(contract, contacts):
    add_metric(contacts, borough("CMD"), JAN, 12)  # Islington has not reported
    services.measure_create(actor=None, contract=contract, indicator=contacts, target=Decimal(40), share_bp=100)
    [row] = _performance(contract)
    assert row.latest.value == 12 and row.latest.boroughs_reporting == 1 and row.boroughs_total == 2
    assert row.judgement == "unknown"  # 12 (6.2 to 21.0) is "below 40" only because Islington is missing
    add_metric(contacts, borough("ISL"), JAN, 10)
    [row] = _performance(contract)
    assert row.judgement == "met"
