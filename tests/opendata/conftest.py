"""Figures made by the real aggregation (suppression, rounding, secondary suppression included).

A proportion, a count and a mean indicator, two months of approved values in North Central
London's boroughs (one of them small enough to be suppressed) and one submitted value that
only the provisional basis counts: what the package publishes must be what the anonymous
metrics API lists, and never a provisional or hidden figure.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from outcomes.aggregation import metrics_recompute_cells
from outcomes.models import Door, Measure, OutcomeValue, PeriodType, Polarity
from stakeholders.models import Area
from tests.factories import IndicatorFactory, OrganisationFactory, SubmissionFactory, UserFactory

APRIL, MAY, JUNE = dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)


class Figures:
    def __init__(self) -> None:
        self.organisation = OrganisationFactory(name="Open data test trust")
        self.submission = SubmissionFactory(organisation=self.organisation, submitted_by=UserFactory(), door=Door.API)
        self.recovery = IndicatorFactory(
            code="od-recovery",
            name="Recovery (open data test)",
            definition="Share of people finishing treatment who recovered.",
            measure=Measure.PROPORTION,
            polarity=Polarity.HIGHER_BETTER,
            period_type=PeriodType.MONTH,
        )
        self.detentions = IndicatorFactory(
            code="od-detentions",
            name="Detentions (open data test)",
            definition="People detained.",
            measure=Measure.COUNT,
            polarity=Polarity.LOWER_BETTER,
            period_type=PeriodType.MONTH,
        )
        self.wellbeing = IndicatorFactory(
            code="od-wellbeing",
            name="Wellbeing score (open data test)",
            definition="Mean wellbeing score.",
            measure=Measure.MEAN,
            polarity=Polarity.HIGHER_BETTER,
            period_type=PeriodType.MONTH,
            unit="score",
        )

    def value(self, indicator, borough, period, num, den=None, status="approved") -> OutcomeValue:
        return OutcomeValue.objects.update_or_create(
            organisation=self.organisation,
            indicator=indicator,
            borough=Area.objects.get(short_code=borough),
            period_start=period,
            defaults={
                "numerator": num,
                "denominator": den,
                "status": status,
                "submission": self.submission,
                "submitted_at": timezone.now(),
            },
        )[0]

    def recompute(self) -> None:
        cells = {(i.pk, p.isoformat()) for i in (self.recovery, self.detentions, self.wellbeing) for p in (APRIL, MAY)}
        metrics_recompute_cells(sorted(cells))


@pytest.fixture
def figures(db) -> Figures:
    f = Figures()
    for period in (APRIL, MAY):
        f.value(f.recovery, "CMD", period, 58, 103)
        f.value(f.recovery, "HCK", period, 40, 90)
        f.value(f.recovery, "ISL", period, 3, 12)  # below 5: suppressed
        f.value(f.detentions, "CMD", period, 23)
        f.value(f.detentions, "HCK", period, 2)  # below 5: a star, and the totals may hide it
        f.value(f.wellbeing, "CMD", period, 5230, 210)
    f.value(f.recovery, "BRN", MAY, 70, 100, status="submitted")  # provisional only
    f.recompute()
    return f
