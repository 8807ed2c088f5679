"""Exact query counts for the register, overview and performance pages, at two data sizes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from commissioning import services
from commissioning.decisions import services as decision_services
from commissioning.models import ContractForm, ProviderRole
from outcomes.models import Measure, PeriodType, Polarity
from stakeholders.models import Area, OrganisationType
from tests.commissioning.conftest import add_metric
from tests.factories import IndicatorFactory, OrganisationFactory
from tests.stakeholders.test_query_counts import SIGNED_IN_OVERHEAD

pytestmark = pytest.mark.django_db

# Signed in: the header's and session's queries (tests/stakeholders/test_query_counts.py), then
# the user's memberships and the partnerships of their commissioning organisations
# (commissioning.permissions.access_for).
SIGNED_IN = SIGNED_IN_OVERHEAD + 2


@pytest.fixture(params=[2, 12], ids=["2-contracts", "12-contracts"])
def portfolio(request, commissioning_org):
    """`n` alliance contracts of three providers over three boroughs, each with three measures and figures."""
    n = request.param
    boroughs = list(Area.objects.boroughs().order_by("code")[:6])
    today = timezone.localdate()
    indicators = [
        IndicatorFactory(
            code=f"qc-{i}",
            name=f"Indicator {i}",
            definition="x",
            measure=Measure.PROPORTION,
            polarity=Polarity.HIGHER_BETTER,
            period_type=PeriodType.MONTH,
        )
        for i in range(3)
    ]
    for indicator in indicators:
        for area in boroughs:
            for month in (1, 2, 3):
                add_metric(indicator, area, dt.date(2026, month, 1), 40, 100)
    contracts = []
    for i in range(n):
        providers = [
            (OrganisationFactory(type=OrganisationType.VOLUNTARY), ProviderRole.ALLIANCE_PARTNER) for _ in range(3)
        ]
        contract = services.contract_create(
            actor=None,
            reference=f"QC-{i:03d}",
            title=f"Contract {i}",
            service_description="x",
            commissioner_organisation=commissioning_org,
            form=ContractForm.ALLIANCE,
            providers=providers,
            boroughs=[boroughs[(i + k) % 6] for k in range(3)],
            annual_value_pence=1_000_000 * (i + 1),
            start_date=today - dt.timedelta(days=30),
            end_date=today + dt.timedelta(days=900),
            agreed=True,
            publishable=i % 2 == 0,
        )
        for indicator in indicators:
            services.measure_create(
                # 40% (34.6% to 45.6%) is met only where the whole interval clears the target.
                actor=None,
                contract=contract,
                indicator=indicator,
                target=Decimal(30),
                share_bp=100,
            )
        contracts.append(contract)
    return contracts


def test_the_register_runs_a_fixed_number_of_queries(client_for, commissioner, portfolio, django_assert_num_queries):
    client = client_for(commissioner)
    # + the filter form's choices (commissioning organisations, partnerships, providers, boroughs),
    # the pager's COUNT, the page of contracts, their providers, their boroughs, and the totals.
    with django_assert_num_queries(SIGNED_IN + 9):
        response = client.get("/commissioning/contracts/", {"status": "active"})
    assert response.status_code == 200
    assert f"{len(portfolio)} contracts" in response.content.decode()


def test_the_register_for_visitors_runs_a_fixed_number_of_queries(client, portfolio, django_assert_num_queries):
    # Anonymous: the filter choices (4), COUNT, page, providers, boroughs, totals.
    with django_assert_num_queries(9):
        response = client.get("/commissioning/contracts/")
    assert response.status_code == 200


def test_the_overview_runs_a_fixed_number_of_queries(client_for, commissioner, portfolio, django_assert_num_queries):
    client = client_for(commissioner)
    # + spend by form, spend by borough, the outcome-linked total, the measures, their figures (one SQL).
    with django_assert_num_queries(SIGNED_IN + 5):
        response = client.get("/commissioning/")
    assert response.status_code == 200
    assert f"{3 * len(portfolio)} meet their target" in response.content.decode()


def test_performance_runs_a_fixed_number_of_queries(client_for, commissioner, portfolio, django_assert_num_queries):
    client = client_for(commissioner)
    contract = portfolio[-1]
    # + the contract with its commissioners, its provider rows, their organisations, its boroughs,
    # the boroughs the user commissions (exact figures or disclosure control), the measures with
    # their indicators, and the summed figures of every measure (one SQL).
    with django_assert_num_queries(SIGNED_IN + 7):
        response = client.get(f"/commissioning/contracts/{contract.pk}/performance/")
    assert response.status_code == 200
    # Three measures met: each says so in its heading's tag and beside its target.
    assert response.content.decode().count("Target met") == 6


@pytest.fixture(params=[1, 6], ids=["1-meeting", "6-meetings"])
def partnership(request, commissioning_org):
    from commissioning.models import PartnershipScope

    extra = [OrganisationFactory(type=OrganisationType.LA_COMMISSIONER) for _ in range(request.param)]
    partnership = services.partnership_create(
        actor=None, name="QC partnership", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org, members=extra
    )
    for i in range(request.param):
        meeting = decision_services.meeting_create(
            actor=None, partnership=partnership, date=dt.date(2026, 1, i + 1), title="Board"
        )
        for owner in extra[:3]:
            decision = decision_services.decision_propose(
                actor=None, partnership=partnership, meeting=meeting, title=f"Decision {i}", text="x"
            )
            decision_services.decision_record_outcome(
                actor=None, decision=decision, expected_version=1, status="agreed", owner=owner
            )
    return partnership


def test_a_partnership_page_runs_a_fixed_number_of_queries(client, partnership, django_assert_num_queries):
    # The partnership with its sub-region, members (with organisations), boroughs, meetings (with
    # their decision counts), the linked plans the visitor may read, its contracts, and the latest
    # decisions (with owners, meetings and stance tallies).
    with django_assert_num_queries(7):
        response = client.get(partnership.get_absolute_url())
    assert response.status_code == 200


def test_the_partnership_list_runs_a_fixed_number_of_queries(client, partnership, django_assert_num_queries):
    # The partnerships with their counts, then their lead members with organisations.
    with django_assert_num_queries(2):
        response = client.get("/commissioning/partnerships/")
    assert response.status_code == 200
