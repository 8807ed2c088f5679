"""The demo's synthetic values by population group (issue 21): five indicators broken down,
approved like the headline demo values, adding up to the headline, and shaped like the London
patterns they stand for (detentions by ethnic group, recovery by deprivation)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from outcomes import demo as outcomes_demo
from outcomes.breakdowns import Breakdown
from outcomes.demo import DEMO_BREAKDOWNS, _allocate
from outcomes.models import Indicator, OutcomeValue, Population, ValueStatus
from stakeholders import demo as stakeholders_demo

pytestmark = pytest.mark.django_db


def test_allocation_adds_up_and_respects_caps():
    assert sum(_allocate(57, {"a": 0.5, "b": 0.3, "c": 0.2}).values()) == 57
    capped = _allocate(10, {"a": 5.0, "b": 1.0}, caps={"a": 3, "b": 20})
    assert capped == {"a": 3, "b": 7}


def test_demo_seeding_produces_approved_group_values_that_add_up_to_the_headline(settings):
    settings.DEMO_DATA_ALLOWED = True
    stakeholders_demo.seed()
    outcomes_demo.seed()

    broken_down = {i.code: (i.breakdowns, i.age_bands) for i in Indicator.objects.exclude(breakdowns=[])}
    assert broken_down == {code: (list(b), bands) for code, (b, bands) in DEMO_BREAKDOWNS.items()}
    groups = OutcomeValue.objects.exclude(breakdown="")
    assert set(groups.values_list("indicator__code", flat=True)) == set(DEMO_BREAKDOWNS)
    assert groups.filter(status=ValueStatus.APPROVED).exists()
    assert set(groups.values_list("status", flat=True)) <= set(ValueStatus.values)
    assert all(note == "synthetic demo value" for note in groups.values_list("note", flat=True).distinct())

    # Counts: every breakdown's groups add up to the headline.
    sums: dict[tuple, int] = defaultdict(int)
    headline: dict[tuple, int] = {}
    for org, borough, period, breakdown, num in OutcomeValue.objects.filter(indicator__code="cyp-access").values_list(
        "organisation_id", "borough_id", "period_start", "breakdown", "numerator"
    ):
        if breakdown:
            sums[(org, borough, period, breakdown)] += num
        else:
            headline[(org, borough, period)] = num
    assert sums and all(total == headline[key[:3]] for key, total in sums.items())

    # Detentions: Black Londoners detained at about 3-4 times the White rate.
    detained = defaultdict(int)
    for group, num in groups.filter(indicator__code="s136-detentions").values_list("population_group", "numerator"):
        detained[group] += num
    residents = {
        p.population_group: p.population
        for p in Population.objects.filter(area__level="london", breakdown=Breakdown.ETHNICITY)
    }
    ratio = (detained["black"] / residents["black"]) / (detained["white"] / residents["white"])
    assert 2.5 < ratio < 5, ratio

    # Recovery: lower in the most deprived quintile than in the least.
    recovered = defaultdict(lambda: [0, 0])
    for group, num, den in groups.filter(indicator__code="tt-recovery").values_list(
        "population_group", "numerator", "denominator"
    ):
        recovered[group][0] += num
        recovered[group][1] += den
    assert recovered["q1"][0] / recovered["q1"][1] < recovered["q5"][0] / recovered["q5"][1]

    # Seeding again changes nothing.
    count = OutcomeValue.objects.count()
    outcomes_demo.seed()
    assert OutcomeValue.objects.count() == count
