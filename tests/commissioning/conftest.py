"""Shared pieces of the commissioning tests: a contract between the standard cast's organisations.

The cast (tests/conftest.py): `commissioner` commissions for `commissioning_org` (NCL ICB,
Camden and Islington); `provider` is a data submitter at `provider_org`; `outsider` is a
commissioner at `other_org` (a provider trust, so not a commissioning organisation).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from commissioning import services
from commissioning.models import ContractForm, ProviderRole
from outcomes.models import Measure, Metric, PeriodType, Polarity
from stakeholders.models import Area, OrganisationType
from tests.factories import IndicatorFactory, OrganisationFactory

CAMDEN_CODE, ISLINGTON_CODE = "CMD", "ISL"


def borough(short_code: str) -> Area:
    return Area.objects.get(short_code=short_code, level="borough")


@pytest.fixture
def recovery(db):
    return IndicatorFactory(
        code="test-recovery",
        name="Recovery rate (test)",
        definition="Share of people finishing treatment who recovered.",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
        unit="%",
    )


@pytest.fixture
def detentions(db):
    return IndicatorFactory(
        code="test-detentions",
        name="Detentions per 100,000 (test)",
        definition="Detentions per 100,000 residents.",
        measure=Measure.RATE,
        polarity=Polarity.LOWER_BETTER,
        period_type=PeriodType.QUARTER,
    )


@pytest.fixture
def subcontractor_org(db):
    return OrganisationFactory(name="Mind (test)", type=OrganisationType.VOLUNTARY, boroughs=["CMD"])


@pytest.fixture
def contract(commissioner, commissioning_org, provider_org):
    """An active single-provider contract for Camden and Islington, £1,200,000 a year, private."""
    today = timezone.localdate()
    return services.contract_create(
        actor=commissioner,
        reference="NCL-TEST-01",
        title="Community mental health (test)",
        service_description="Community teams.",
        commissioner_organisation=commissioning_org,
        form=ContractForm.SINGLE,
        providers=[(provider_org, ProviderRole.LEAD)],
        boroughs=[borough(CAMDEN_CODE), borough(ISLINGTON_CODE)],
        annual_value_pence=120_000_000,
        start_date=today - dt.timedelta(days=365),
        end_date=today + dt.timedelta(days=3 * 365),
        agreed=True,
    )


@pytest.fixture
def published(contract):
    contract.publishable = True
    contract.save(update_fields=["publishable"])
    return contract


def add_metric(indicator, area, period_start, numerator, denominator=None, population=None, basis="approved"):
    """A borough metric as outcomes.aggregation would store it (the value itself is not read here)."""
    return Metric.objects.create(
        indicator=indicator,
        area=area,
        period_start=period_start,
        basis=basis,
        numerator=Decimal(numerator),
        denominator=denominator,
        population=population,
        providers=1,
        value=None,
        computed_at=timezone.now(),
    )
