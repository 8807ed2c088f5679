"""How the portal writes numbers: the one formatter every page, download label and message uses.

- `format_number`: digits as people write them, never "1E+3" (a Decimal's own str() can be),
  with thousands separators for reading (1,250) or without for form inputs (1250), and either
  a fixed number of places or no trailing zeros (2.5, not 2.5000).
- `format_pounds`: money in whole pounds, "£1,250,000" (pence rounded half up).
- `format_in_unit`: a figure in its indicator's unit, "81.5%" for a proportion.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# Decimal places a figure is written with, by measure (outcomes.models.Measure values).
MEASURE_PLACES = {"proportion": 1, "rate": 1, "mean": 2, "count": 0}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def format_number(value: Any, *, places: int | None = None, grouping: bool = True) -> str:
    """1,250 or 2.5 (no trailing zeros), or with `places` fixed places; "" for None. Never 1E+3."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    if not number.is_finite():
        return str(number)
    comma = "," if grouping else ""
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{number:{comma}.{places}f}"
    text = f"{number:{comma}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_pounds(pence: int | None) -> str:
    """Money in whole pounds: £1,250,000 (pence rounded half up); "" for None."""
    if pence is None:
        return ""
    pounds = (Decimal(int(pence)) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if pounds < 0 else ""
    return f"{sign}£{abs(pounds):,}"


def format_in_unit(value: Any, measure: str) -> str:
    """A figure in its indicator's unit: 81.5% (a proportion, given as a percentage), 1,234.5, 12.35, 1,235."""
    text = format_number(value, places=MEASURE_PLACES.get(measure))
    return text + "%" if text and measure == "proportion" else text
