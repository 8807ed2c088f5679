"""Population groups: the breakdowns a figure may be split by, and their groups.

A value (and a metric) is either for all people - the headline, `breakdown` and
`population_group` both empty - or for one group of one breakdown. An indicator declares the
breakdowns it accepts (`Indicator.breakdowns`); age bands are its own (`Indicator.age_bands`),
the other breakdowns' groups are fixed here.

- ethnicity: the ONS 2021 Census high-level groups, plus "not known" (not stated or not recorded);
- age: the bands the indicator defines, written "18-24", "65+" (whole years), plus "not known";
- sex: female, male (the Census question), plus "not known";
- deprivation: the Index of Multiple Deprivation quintile of where the person lives, 1 the most
  deprived fifth of England's neighbourhoods, 5 the least.

The codes are what uploads, the API and links carry; the labels are what people read.
"""

from __future__ import annotations

import re

from django.db import models

HEADLINE = ""  # breakdown and population_group of an all-people figure


class Breakdown(models.TextChoices):
    ETHNICITY = "ethnicity", "Ethnic group"
    AGE = "age", "Age band"
    SEX = "sex", "Sex"
    DEPRIVATION = "deprivation", "Deprivation quintile (IMD)"


NOT_KNOWN = "not-known"

# Fixed groups, in the order they are shown. Age bands come from the indicator.
FIXED_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    Breakdown.ETHNICITY: (
        ("asian", "Asian, Asian British or Asian Welsh"),
        ("black", "Black, Black British, Black Welsh, Caribbean or African"),
        ("mixed", "Mixed or Multiple ethnic groups"),
        ("white", "White"),
        ("other", "Other ethnic group"),
        (NOT_KNOWN, "Not known"),
    ),
    Breakdown.SEX: (
        ("female", "Female"),
        ("male", "Male"),
        (NOT_KNOWN, "Not known"),
    ),
    Breakdown.DEPRIVATION: (
        ("q1", "Quintile 1 (most deprived)"),
        ("q2", "Quintile 2"),
        ("q3", "Quintile 3"),
        ("q4", "Quintile 4"),
        ("q5", "Quintile 5 (least deprived)"),
    ),
}

AGE_BAND = re.compile(r"^(?P<low>\d{1,3})(?:-(?P<high>\d{1,3})|(?P<plus>\+))$")


def parse_age_band(code: str) -> tuple[int, int | None] | None:
    """(lowest age, highest age or None for "65+") of a band code, or None if it is not one."""
    match = AGE_BAND.match(code.strip())
    if not match:
        return None
    low = int(match["low"])
    if match["plus"]:
        return low, None
    high = int(match["high"])
    return (low, high) if high >= low else None


def age_band_label(code: str) -> str:
    band = parse_age_band(code)
    if band is None:
        return code
    low, high = band
    return f"{low} and over" if high is None else f"{low} to {high}"


def validate_age_bands(codes: list[str]) -> str:
    """An error message if the bands are malformed, overlap or are out of order; else ""."""
    previous_high: int | None = -1
    for position, code in enumerate(codes):
        band = parse_age_band(code)
        if band is None:
            return f'"{code}" is not an age band: write "18-24" or "65+".'
        low, high = band
        if previous_high is None:
            return f'"{codes[position - 1]}" has no upper age, so it must be the last band.'
        if low <= previous_high:
            return f'"{code}" overlaps or comes before the band before it; list bands from youngest, without overlaps.'
        previous_high = high
    return ""


def groups_for(breakdown: str, age_bands: list[str] | tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(code, label) of a breakdown's groups, in the order they are shown."""
    if breakdown == Breakdown.AGE:
        return [(code, age_band_label(code)) for code in age_bands] + [(NOT_KNOWN, "Not known")]
    return list(FIXED_GROUPS.get(breakdown, ()))


def group_label(breakdown: str, group: str) -> str:
    """What people read for a group: "All people" for the headline."""
    if not breakdown:
        return "All people"
    if breakdown == Breakdown.AGE:
        return "Not known" if group == NOT_KNOWN else age_band_label(group)
    return dict(FIXED_GROUPS.get(breakdown, ())).get(group, group)


def breakdown_label(breakdown: str) -> str:
    return Breakdown(breakdown).label if breakdown in Breakdown.values else breakdown
