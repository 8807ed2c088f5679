"""Shared pieces of the outcomes tests."""

from __future__ import annotations

import pytest

from outcomes.models import Measure, PeriodType
from tests.factories import IndicatorFactory


@pytest.fixture
def recovery(db):
    """A monthly proportion, like NHS Talking Therapies recovery."""
    return IndicatorFactory(
        code="test-recovery",
        name="Recovery rate (test)",
        definition="Share of people finishing treatment who recovered.",
        numerator_definition="People who recovered",
        denominator_definition="People who finished treatment",
        measure=Measure.PROPORTION,
        period_type=PeriodType.MONTH,
    )
