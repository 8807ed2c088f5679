"""Hand-computed cases for the statistical methods (formulas in docs/statistics.md)."""

from __future__ import annotations

import pytest

from outcomes.statistics import (
    Z95,
    Z998,
    Comparison,
    byar,
    compare,
    disclose_count,
    exact_poisson,
    poisson_limits,
    quintiles,
    rate_limits,
    ratio_is_suppressed,
    wilson,
)


def test_wilson_95_for_50_of_100():
    low, high = wilson(50, 100, Z95)
    assert low == pytest.approx(0.4038, abs=1e-4)
    assert high == pytest.approx(0.5962, abs=1e-4)


def test_wilson_stays_inside_zero_and_one_at_the_extremes():
    low, high = wilson(0, 20, Z998)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert 0 < high < 1
    low, high = wilson(20, 20, Z95)
    assert 0 < low < 1
    assert high == pytest.approx(1.0, abs=1e-12)


def test_byar_for_100_events_in_100000():
    low, high = rate_limits(100, 100_000, 95)
    # Byar: 100(1 - 1/900 - 1.96/30)^3 and 101(1 - 1/909 + 1.96/(3 sqrt 101))^3.
    assert low == pytest.approx(81.36, abs=0.01)
    assert high == pytest.approx(121.63, abs=0.01)


def test_exact_poisson_for_3_events():
    assert exact_poisson(3, 95) == pytest.approx((0.6187, 8.7673), abs=1e-4)
    # chi2inv(0.001, 6) / 2 and chi2inv(0.999, 8) / 2
    assert exact_poisson(3, 99.8) == pytest.approx((0.1905, 13.0622), abs=1e-3)


def test_exact_poisson_for_no_events_has_a_zero_lower_limit():
    low, high = exact_poisson(0, 95)
    assert low == 0
    assert high == pytest.approx(3.6889, abs=1e-4)


def test_counts_switch_from_exact_to_byar_at_ten_events():
    assert poisson_limits(9, 95) == exact_poisson(9, 95)
    assert poisson_limits(10, 95) == byar(10, 95)


@pytest.mark.parametrize(
    ("polarity", "limits95", "limits998", "expected"),
    [
        ("higher", (55, 60), (48, 62), Comparison.BETTER),
        ("higher", (55, 60), (51, 62), Comparison.MUCH_BETTER),
        ("higher", (60, 70), (58, 72), Comparison.MUCH_BETTER),
        ("higher", (30, 40), (28, 42), Comparison.MUCH_WORSE),
        ("higher", (40, 49), (38, 52), Comparison.WORSE),
        ("lower", (60, 70), (58, 72), Comparison.MUCH_WORSE),
        ("lower", (40, 49), (38, 52), Comparison.BETTER),
        ("lower", (30, 40), (28, 42), Comparison.MUCH_BETTER),
        ("none", (60, 70), (58, 72), Comparison.MUCH_HIGHER),
        ("none", (40, 49), (38, 52), Comparison.LOWER),
        ("higher", (45, 55), (40, 60), Comparison.SIMILAR),
    ],
)
def test_comparison_with_london_at_both_levels_and_every_polarity(polarity, limits95, limits998, expected):
    # London's value is 50 in every case.
    assert compare(50, limits95, limits998, polarity) == expected


def test_no_comparison_without_a_benchmark_or_limits():
    assert compare(None, (1, 2), (0, 3), "higher") == Comparison.NOT_COMPARED
    assert compare(50, None, None, "higher") == Comparison.NOT_COMPARED


def test_quintiles_need_five_values_and_put_the_best_first():
    assert quintiles({"a": 1, "b": 2, "c": 3, "d": 4}, "higher") == {}
    values = {k: float(i) for i, k in enumerate("abcdefghij")}
    higher = quintiles(values, "higher")
    assert higher["j"] == 1 and higher["a"] == 5
    lower = quintiles(values, "lower")
    assert lower["a"] == 1 and lower["j"] == 5
    assert sorted(higher.values()) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_counts_below_five_are_suppressed_and_others_rounded_to_five():
    assert disclose_count(0).text == "*"
    assert disclose_count(4).text == "*"
    assert disclose_count(5).value == 5
    assert disclose_count(7).value == 5
    assert disclose_count(8).value == 10
    assert disclose_count(12_502).value == 12_500


def test_ratios_are_suppressed_when_either_part_is_below_five():
    assert ratio_is_suppressed(4, 100)
    assert ratio_is_suppressed(10, 4)
    assert not ratio_is_suppressed(5, 5)
