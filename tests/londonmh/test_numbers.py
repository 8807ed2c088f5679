"""Numbers read as people write them (kernel.numbers): the one formatter the pages use."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kernel.numbers import format_in_unit, format_number, format_pounds


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E+3"), "1,000"),
        (Decimal("1000.0000").normalize(), "1,000"),
        (Decimal("6E+1"), "60"),
        (Decimal("2.5000"), "2.5"),
        (Decimal("0.0000"), "0"),
        (Decimal("-0"), "0"),
        (1250000, "1,250,000"),
        (12.5, "12.5"),
        (None, ""),
    ],
)
def test_a_number_is_written_in_digits_never_in_exponent_form(value, text):
    assert format_number(value) == text


def test_form_inputs_get_no_thousands_separators_and_fixed_places_round_half_up():
    assert format_number(Decimal("1E+3"), grouping=False) == "1000"
    assert format_number(Decimal("2.25"), places=1) == "2.3"
    assert format_number(Decimal("1E+3"), places=1) == "1,000.0"


def test_money_is_shown_in_whole_pounds():
    assert format_pounds(125_000_000) == "£1,250,000"
    assert format_pounds(123_456_789) == "£1,234,568"
    assert format_pounds(-150) == "-£2"
    assert format_pounds(None) == ""


def test_a_figure_is_written_in_its_indicators_unit():
    assert format_in_unit(Decimal("81.54"), "proportion") == "81.5%"
    assert format_in_unit(Decimal("1E+3"), "count") == "1,000"
    assert format_in_unit(Decimal("12.345"), "mean") == "12.35"
    assert format_in_unit(Decimal("1234.56"), "rate") == "1,234.6"


def test_templates_write_numbers_through_the_same_formatter():
    from django.template import engines

    env = next(e for e in engines.all() if e.name == "jinja2" or "Jinja2" in type(e).__name__).env
    template = env.from_string("{{ a | number }} {{ a | number(grouping=false) }} {{ b | intcomma }}")
    assert template.render(a=Decimal("1E+3"), b=1250000) == "1,000 1000 1,250,000"
