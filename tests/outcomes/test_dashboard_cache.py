"""Dashboards are cached until their cells are recomputed, and never across disclosure audiences."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outcomes.aggregation import metrics_generation, metrics_recompute_cells
from outcomes.models import Door, Measure, OutcomeValue, PeriodType, Polarity
from stakeholders.models import Area
from tests.factories import IndicatorFactory, OrganisationFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db

JUNE = dt.date(2026, 6, 1)
PAGES = [
    "/dashboards/?indicator=recovery",
    "/dashboards/?indicator=recovery&format=csv",
    "/dashboards/?indicator=recovery&format=json",
    "/dashboards/indicators/recovery/?area=E09000007",
    "/dashboards/areas/E09000007/",
    "/dashboards/areas/E09000007/?format=json",
    "/api/v1/metrics/?indicator=recovery",
]


@pytest.fixture
def published(django_capture_on_commit_callbacks):
    """Recovery in June: Camden 58 of 103 (published), Islington 3 of 12 (suppressed), computed for real."""
    indicator = IndicatorFactory(
        code="recovery",
        name="Recovery rate",
        definition="d",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
    )
    org = OrganisationFactory()
    submission = SubmissionFactory(organisation=org, submitted_by=UserFactory(), door=Door.API)
    for code, num, den in (("CMD", 58, 103), ("ISL", 3, 12)):
        OutcomeValue.objects.create(
            organisation=org,
            indicator=indicator,
            borough=Area.objects.get(short_code=code),
            period_start=JUNE,
            numerator=num,
            denominator=den,
            status="approved",
            submission=submission,
            submitted_at=timezone.now(),
        )
    with django_capture_on_commit_callbacks(execute=True):
        metrics_recompute_cells([(indicator.pk, JUNE.isoformat())])
    return indicator


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("url", PAGES)
def test_a_second_anonymous_request_reads_nothing_from_the_database(client_for, published, url):
    client = client_for(None)
    first, _ = _queries(client, url)
    second, _ = _queries(client, url)
    assert first > 0
    assert second == 0, url


def test_a_recompute_through_the_service_shows_new_figures_at_once(
    client_for, published, django_capture_on_commit_callbacks
):
    client = client_for(None)
    # Published from the published counts: 58 of 103 is shown as 60 of 105.
    assert "57.1%" in client.get("/dashboards/?indicator=recovery").content.decode()
    before = metrics_generation()
    OutcomeValue.objects.filter(borough__short_code="CMD").update(numerator=70)
    with django_capture_on_commit_callbacks(execute=True):
        metrics_recompute_cells([(published.pk, JUNE.isoformat())])
    assert metrics_generation() == before + 1
    for url in PAGES:
        body = client.get(url).content.decode()
        assert "66.7" in body, url  # 70 of 103, published as 70 of 105 = 66.67%
        assert "57.1" not in body, url


def test_a_recompute_that_changes_nothing_keeps_the_cache(published, django_capture_on_commit_callbacks):
    before = metrics_generation()
    with django_capture_on_commit_callbacks(execute=True):
        assert metrics_recompute_cells([(published.pk, JUNE.isoformat())]) == 0
    assert metrics_generation() == before


def test_a_cached_public_page_never_reaches_a_commissioner_nor_theirs_the_public(client_for, commissioner, published):
    # The commissioner's ICB commissions Camden and Islington (tests/conftest.py).
    public = client_for(None).get("/dashboards/?indicator=recovery").content.decode()
    theirs = client_for(commissioner).get("/dashboards/?indicator=recovery")
    again = client_for(None).get("/dashboards/?indicator=recovery").content.decode()
    islington = theirs.content.decode()
    row = islington[islington.index(">Islington</a>") : islington.index("</tr>", islington.index(">Islington</a>"))]
    assert "25.0%" in row and "Not for publication" in row
    assert "no-store" in theirs["Cache-Control"]
    for page in (public, again):
        row = page[page.index(">Islington</a>") : page.index("</tr>", page.index(">Islington</a>"))]
        assert "25.0%" not in row and ">*<" in row and "Not for publication" not in page


def test_each_cached_page_still_gets_its_own_csp_nonce(client_for, published):
    client = client_for(None)
    first = client.get("/dashboards/?indicator=recovery")
    second = client.get("/dashboards/?indicator=recovery")
    nonce = [r["Content-Security-Policy"].split("'nonce-")[1].split("'")[0] for r in (first, second)]
    assert nonce[0] != nonce[1]
    assert f'nonce="{nonce[1]}"' in second.content.decode()


def test_editing_an_indicator_invalidates_the_dashboards(
    client_for, staff, published, django_capture_on_commit_callbacks
):
    from outcomes import services

    client = client_for(None)
    assert "Recovery rate" in client.get("/dashboards/?indicator=recovery").content.decode()
    published.name = "Recovery after therapy"
    with django_capture_on_commit_callbacks(execute=True):
        services.indicator_save(actor=staff, indicator=published)
    assert "Recovery after therapy" in client.get("/dashboards/?indicator=recovery").content.decode()
