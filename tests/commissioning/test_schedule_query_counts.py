"""Exact query counts for the reporting-schedule pages and API, at two data sizes."""

from __future__ import annotations

import datetime as dt

import pytest

from outcomes.models import Measure, PeriodType
from stakeholders.models import OrganisationType
from tests.commissioning.schedules_helpers import borough, make_schedule
from tests.commissioning.test_query_counts import SIGNED_IN
from tests.factories import IndicatorFactory, OrganisationFactory
from tests.stakeholders.test_query_counts import SIGNED_IN_OVERHEAD

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[2, 8], ids=["2-schedules", "8-schedules"])
def schedules(request, commissioner, commissioning_org):
    """`n` schedules, each of a provider of its own, three indicators, Camden and Islington, from January 2026."""
    indicators = [
        IndicatorFactory(
            code=f"qs-{i}", name=f"Indicator {i}", definition="x", measure=Measure.COUNT, period_type=PeriodType.MONTH
        )
        for i in range(3)
    ]
    made = []
    for i in range(request.param):
        provider = OrganisationFactory(type=OrganisationType.NHS_MH_PROVIDER, boroughs=["CMD", "ISL"])
        made.append(
            make_schedule(
                commissioner,
                commissioning_org,
                provider,
                indicators,
                [borough("CMD"), borough("ISL")],
                name=f"Return {i}",
                first_period=dt.date(2026, 1, 1),
            )
        )
    return made


def test_the_schedule_list_runs_a_fixed_number_of_queries(
    client_for, commissioner, schedules, django_assert_num_queries
):
    client = client_for(commissioner)
    # + the boroughs the user commissions (inside the visibility filter, one statement with it),
    # the schedules with provider and commissioner, their indicators, their boroughs, and the
    # user's data-submitter organisations (may they see completeness?).
    with django_assert_num_queries(SIGNED_IN + 5):
        response = client.get("/commissioning/schedules/")
    assert response.status_code == 200
    assert f"{len(schedules)} schedules you can see" in response.content.decode()


def test_completeness_runs_a_fixed_number_of_queries(client_for, commissioner, schedules, django_assert_num_queries):
    client = client_for(commissioner)
    # The header's and session's queries, then the scope (boroughs commissioned, submitter
    # organisations), the filter choices (providers, boroughs, indicators), the counts (one
    # statement), and the names of the providers, boroughs and indicators counted.
    with django_assert_num_queries(SIGNED_IN_OVERHEAD + 9):
        response = client.get("/commissioning/completeness/")
    assert response.status_code == 200
    assert response.content.decode().count("Return ") == 0  # providers are named, not schedules


def test_the_schedules_api_runs_a_fixed_number_of_queries(
    client_for, commissioner, schedules, django_assert_num_queries
):
    client = client_for(commissioner)
    # Session, user and the session's idle expiry pushed forward (SAVEPOINT, UPDATE, RELEASE);
    # memberships and partnerships (access_for); COUNT, the page with provider and commissioner,
    # its indicators, its boroughs.
    with django_assert_num_queries(11):
        response = client.get("/api/v1/reporting-schedules/")
    assert response.json()["count"] == len(schedules)
