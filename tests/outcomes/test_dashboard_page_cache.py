"""Dashboards' rendered content is cached per query and audience until the metrics change.

outcomes.dashboards.cached_page: the body of the overview, indicator and area pages, and of the
public-health pages (spine chart, compare areas, trend) and the inequalities page, is rendered
once per (query, basis, basis choice, boroughs shown unsuppressed) and kept under the metrics
generation; the page shell (header, CSP nonce, sign-in state) renders on every request.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outcomes import dashboards, permissions
from outcomes.aggregation import metrics_changed, metrics_generation
from outcomes.models import Measure, Metric, PeriodType, Polarity
from stakeholders.models import Area
from tests.factories import IndicatorFactory, MembershipFactory

pytestmark = pytest.mark.django_db

JUNE = dt.date(2026, 6, 1)
OVERVIEW = "/dashboards/?indicator=recovery"
INDICATOR = "/dashboards/indicators/recovery/?area=E09000007"
AREA = "/dashboards/areas/E09000007/"
SPINE = "/dashboards/areas/E09000007/profile/"
COMPARE = "/dashboards/indicators/recovery/compare/"
TREND = "/dashboards/indicators/recovery/trend/?area=E09000007"
INEQUALITIES = "/dashboards/indicators/recovery/inequalities/?area=E09000007"
PUBLIC_HEALTH = [SPINE, COMPARE, TREND, INEQUALITIES]
PAGES = [OVERVIEW, INDICATOR, AREA, *PUBLIC_HEALTH]
# Each page's cache kind and the query parameters it reads (its cache key: dashboards.page_cache_key).
KINDS = {
    OVERVIEW: ("overview", dashboards.PAGE_PARAMETERS),
    INDICATOR: ("indicator", dashboards.PAGE_PARAMETERS),
    AREA: ("area", dashboards.PAGE_PARAMETERS),
    SPINE: ("spine", dashboards.SPINE_PARAMETERS),
    COMPARE: ("compare", dashboards.COMPARE_PARAMETERS),
    TREND: ("trend", dashboards.TREND_PARAMETERS),
    INEQUALITIES: ("inequalities", dashboards.INEQUALITIES_PARAMETERS),
}


def area(short_code: str) -> Area:
    return Area.objects.get(short_code=short_code)


def metric(indicator, where, *, num, den, basis="approved", period=JUNE, **fields) -> Metric:
    return Metric.with_groups.create(
        indicator=indicator,
        area=area(where),
        period_start=period,
        basis=basis,
        numerator=num,
        denominator=den,
        value=Decimal(100 * num) / den,
        computed_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def recovery():
    """June, approved: London 50.0%, Camden 56.3% (58 of 103), Islington 3 of 12 (suppressed).

    Provisional (submitted, not yet approved): London 61.0%, Camden 71.8% (74 of 103).
    By ethnic group (the inequalities page): Camden's Black people 40.0% (20 of 50) approved,
    44.0% (22 of 50) provisional.
    """
    indicator = IndicatorFactory(
        code="recovery",
        name="Recovery rate",
        definition="d",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
        breakdowns=["ethnicity"],
    )
    metric(indicator, "LDN", num=1000, den=2000)
    metric(indicator, "CMD", num=58, den=103, comparison="better")
    metric(indicator, "ISL", num=3, den=12, suppressed=True)
    metric(indicator, "LDN", num=1220, den=2000, basis="provisional")
    metric(indicator, "CMD", num=74, den=103, basis="provisional", comparison="better")
    metric(indicator, "CMD", num=20, den=50, breakdown="ethnicity", population_group="black", comparison="worse")
    metric(
        indicator,
        "CMD",
        num=22,
        den=50,
        basis="provisional",
        breakdown="ethnicity",
        population_group="black",
        comparison="worse",
    )
    return indicator


def body(response) -> str:
    html = response.content.decode()
    return html[html.index('<main class="nhsuk-main-wrapper') :]


def islington_row(html: str) -> str:
    start = html.index(">Islington</a>")
    return html[start : html.index("</tr>", start)]


@pytest.mark.parametrize("url", PAGES)
def test_the_cached_content_is_replaced_when_the_metrics_change(
    client_for, recovery, django_capture_on_commit_callbacks, url
):
    client = client_for(None)
    assert "56.3%" in client.get(url).content.decode()
    # A change the aggregation did not announce: the page keeps what it rendered (it is cached) ...
    Metric.objects.filter(area__short_code="CMD", basis="approved").update(numerator=64, value=Decimal("62.1"))
    assert "56.3%" in client.get(url).content.decode()
    # ... until the generation moves on, as every recompute that writes a row makes it.
    before = metrics_generation()
    with django_capture_on_commit_callbacks(execute=True):
        metrics_changed()
    assert metrics_generation() == before + 1
    html = client.get(url).content.decode()
    assert "62.1%" in html and "56.3%" not in html


@pytest.mark.parametrize("url", PAGES)
def test_a_new_release_never_serves_the_former_releases_cached_content(client_for, recovery, monkeypatch, url):
    # A deploy with the metrics unchanged: what the former code rendered and cached must not be
    # served by the new code (a changed template would otherwise show only after a recompute).
    client = client_for(None)
    assert "56.3%" in client.get(url).content.decode()
    Metric.objects.filter(area__short_code="CMD", basis="approved").update(numerator=64, value=Decimal("62.1"))
    assert "56.3%" in client.get(url).content.decode()  # cached, as above
    for module in ("outcomes.dashboards", "outcomes.views", "outcomes.api"):
        monkeypatch.setattr(f"{module}.code_version", lambda: "next-release")
    html = client.get(url).content.decode()
    assert "62.1%" in html and "56.3%" not in html


def test_the_code_version_covers_the_kernel_every_local_app_and_the_templates(settings):
    from kernel.cache import source_roots

    names = {root.name for root in source_roots()}
    assert {"kernel", "templates", "londonmh", "stakeholders", "outcomes", "actionplan", "commissioning"} <= names
    assert "opendata" in names
    assert not names & {"rest_framework", "guardian", "tests", "admin"}  # third-party and Django's own code is not ours


def test_the_code_version_moves_with_any_template_or_module(tmp_path, monkeypatch):
    from kernel import cache
    from kernel.cache import code_version

    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    page.write_text("<p>one</p>")
    (tmp_path / "outcomes").mkdir()
    (tmp_path / "outcomes" / "views.py").write_text("ANSWER = 1\n")
    monkeypatch.setattr(cache, "source_roots", lambda: [tmp_path / "outcomes", tmp_path / "templates"])
    code_version.cache_clear()
    try:
        first = code_version()
        assert code_version() == first  # taken once a process
        code_version.cache_clear()
        assert code_version() == first  # the same source, the same version
        page.write_text("<p>two</p>")
        code_version.cache_clear()
        second = code_version()
        assert second != first
        (tmp_path / "outcomes" / "views.py").write_text("ANSWER = 2\n")
        code_version.cache_clear()
        assert code_version() not in (first, second)
    finally:
        code_version.cache_clear()


def test_a_commissioners_cached_overview_never_reaches_the_public(client_for, commissioner, recovery):
    # The commissioner's ICB commissions Camden and Islington (tests/conftest.py): they see
    # Islington's 3 of 12 as 25.0%, not for publication; the same query from the public, after
    # theirs is cached, shows it suppressed.
    theirs = client_for(commissioner).get(OVERVIEW)
    assert "25.0%" in islington_row(theirs.content.decode())
    assert "no-store" in theirs["Cache-Control"]
    public = client_for(None).get(OVERVIEW)
    row = islington_row(public.content.decode())
    assert "25.0%" not in row and ">*<" in row
    assert "Not for publication" not in public.content.decode()
    assert "no-store" not in public.get("Cache-Control", "")


def test_the_publics_cached_overview_never_hides_a_commissioners_own_boroughs(client_for, commissioner, recovery):
    public = client_for(None).get(OVERVIEW)
    assert ">*<" in islington_row(public.content.decode())
    theirs = client_for(commissioner).get(OVERVIEW).content.decode()
    assert "25.0%" in islington_row(theirs) and "Not for publication" in theirs


def test_commissioners_of_other_boroughs_get_their_own_content(client_for, commissioner, recovery):
    client_for(commissioner).get(OVERVIEW)  # cached for Camden and Islington shown unsuppressed
    other = MembershipFactory().user  # a partner who commissions neither
    html = client_for(other).get(OVERVIEW).content.decode()
    assert "25.0%" not in islington_row(html) and "Not for publication" not in html


@pytest.mark.parametrize("url", PAGES)
def test_provisional_figures_cached_for_a_partner_never_reach_the_public(client_for, commissioner, recovery, url):
    asked = url + ("&" if "?" in url else "?") + "basis=provisional"
    partner = client_for(commissioner).get(asked).content.decode()
    assert "71.8%" in partner and "Provisional" in partner
    # The same address from the public: approved figures (permissions.figures_basis), and no
    # choice of basis, whatever the partner's visit left in the cache.
    public = body(client_for(None).get(asked))
    assert "56.3%" in public
    assert "71.8%" not in public and "61.0%" not in public and "Provisional" not in public
    assert 'name="basis"' not in public


@pytest.mark.parametrize("url", PAGES)
def test_the_public_cached_content_never_reaches_a_partner_as_their_choice(client_for, commissioner, recovery, url):
    client_for(None).get(url)
    partner = body(client_for(commissioner).get(url))
    assert 'name="basis"' in partner  # the approved/provisional choice, which the public is not offered


@pytest.mark.parametrize("url", PAGES)
def test_the_cached_content_holds_no_name_nonce_nor_csrf_token(client_for, commissioner, recovery, rf, url):
    kind, parameters = KINDS[url]
    client = client_for(commissioner)
    response = client.get(url)
    html = response.content.decode()
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert "Casey Commissioner" in html and f'nonce="{nonce}"' in html  # the shell has them ...
    shown = permissions.commissioned_boroughs(commissioner).values_list("pk", flat=True)
    audience = dashboards.Audience(
        basis="approved", basis_choice=True, unsuppressed=tuple(sorted(shown)) if kind == "overview" else ()
    )
    entry = cache.get(dashboards.page_cache_key(rf.get(url), kind, audience, parameters))
    assert entry["body"] in html  # ... the cached content does not
    assert "Casey" not in entry["body"] and nonce not in entry["body"] and "csrfmiddlewaretoken" not in entry["body"]
    assert 'method="post"' not in entry["body"].lower()  # every form in it is a GET form: no token needed
    second = client.get(url)
    assert second["Content-Security-Policy"] != response["Content-Security-Policy"]
    nonce2 = second["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce2}"' in second.content.decode() and entry["body"] in second.content.decode()


@pytest.mark.parametrize("url", PUBLIC_HEALTH)
def test_a_second_request_is_served_from_the_cache(client_for, commissioner, recovery, url):
    public = client_for(None)
    first = _count(public, url)
    assert first >= 3  # the indicator or area, and the figures
    assert _count(public, url) == 0  # anonymous and cached: nothing from the database
    theirs = client_for(commissioner)
    # Signed in: the session, user and header queries stay, the page's own reads go.
    assert _count(theirs, url) > _count(theirs, url)


@pytest.mark.parametrize("url", PUBLIC_HEALTH)
def test_a_download_is_never_served_the_cached_page(client_for, recovery, url):
    client = client_for(None)
    client.get(url)  # the page, cached
    asked = url + ("&" if "?" in url else "?") + "format=csv"
    response = client.get(asked)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "<html" not in response.content.decode()


def test_the_public_health_pages_show_no_figure_unsuppressed_to_a_commissioner(client_for, commissioner, recovery):
    # Islington (3 of 12) is commissioned by the commissioner's ICB, but these pages are the
    # public's figures for everyone: its row says suppressed, for them as for the public, and
    # the page may sit in a shared cache.
    for who in (commissioner, None):
        response = client_for(who).get(COMPARE)
        html = body(response)
        assert "25.0%" not in html and "Not for publication" not in html
        assert "Islington" in html[html.index("Not shown") :]
        assert "no-store" not in response.get("Cache-Control", "")


def test_a_wrongly_filled_trend_form_keeps_its_error_when_cached(client_for, recovery):
    others = Area.objects.boroughs().exclude(short_code="CMD").order_by("code")[:4]
    asked = TREND + "".join(f"&area={a.code}" for a in others)  # five areas with Camden: one too many
    client = client_for(None)
    for _ in range(2):
        response = client.get(asked)
        assert response.status_code == 400
        assert "Choose at most 4 areas and groups" in response.content.decode()
        assert "<title>Error: Recovery rate: trend" in response.content.decode()


def test_each_page_caches_only_for_the_parameters_it_reads(rf: RequestFactory):
    audience = dashboards.Audience(basis="approved", basis_choice=False)
    compare = rf.get(COMPARE, {"level": "sub_region", "period": "2026-06"})
    assert dashboards.page_cache_key(compare, "compare", audience, dashboards.COMPARE_PARAMETERS)
    sorted_compare = rf.get(COMPARE, {"sort": "-value"})  # the overview's parameter, not compare's
    assert dashboards.page_cache_key(sorted_compare, "compare", audience, dashboards.COMPARE_PARAMETERS) is None
    trend = rf.get(TREND, {"group": "ethnicity:black"})
    assert dashboards.page_cache_key(trend, "trend", audience, dashboards.TREND_PARAMETERS)
    ours = rf.get(INEQUALITIES, {"breakdown": "ethnicity", "period": "2026-06"})
    assert dashboards.page_cache_key(ours, "inequalities", audience, dashboards.INEQUALITIES_PARAMETERS)
    for url, parameters in ((SPINE, dashboards.SPINE_PARAMETERS), (TREND, dashboards.TREND_PARAMETERS)):
        made_up = rf.get(url, {"utm_source": "1"})
        assert dashboards.page_cache_key(made_up, "x", audience, parameters) is None


def test_made_up_query_parameters_are_rendered_but_not_cached(rf: RequestFactory):
    audience = dashboards.Audience(basis="approved", basis_choice=False)
    assert dashboards.page_cache_key(rf.get("/dashboards/", {"indicator": "x", "sort": "-value"}), "o", audience)
    assert (
        dashboards.page_cache_key(rf.get("/dashboards/", {"indicator": "x", "utm_source": "1"}), "o", audience) is None
    )


def test_a_page_with_made_up_parameters_still_shows_the_right_figures(client_for, recovery):
    html = client_for(None).get(OVERVIEW + "&utm_source=newsletter").content.decode()
    assert "56.3%" in html and ">*<" in islington_row(html)


def _fill(indicator, boroughs: int, periods: int) -> None:
    starts = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(periods)]
    areas = [area("LDN"), *Area.objects.sub_regions(), *Area.objects.boroughs().order_by("name")[:boroughs]]
    Metric.objects.bulk_create(
        Metric(
            indicator=indicator,
            area=a,
            period_start=start,
            basis="approved",
            numerator=40 + n,
            denominator=100,
            value=Decimal(40 + n),
            comparison="similar",
            computed_at=timezone.now(),
        )
        for start in starts
        for n, a in enumerate(areas)
    )


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 30)])
@pytest.mark.parametrize(
    "url",
    [
        "/dashboards/?sort=-value",
        "/dashboards/indicators/grow/?area=E09000007",
        AREA,
        SPINE,
        "/dashboards/indicators/grow/compare/",
        "/dashboards/indicators/grow/trend/?area=E09000007",
        "/dashboards/indicators/grow/inequalities/?area=E09000007",
    ],
)
def test_a_cached_page_runs_a_fixed_number_of_queries(client_for, commissioner, boroughs, periods, url):
    indicator = IndicatorFactory(
        code="grow", measure=Measure.PROPORTION, period_type=PeriodType.MONTH, breakdowns=["ethnicity"]
    )
    _fill(indicator, boroughs, periods)
    public = client_for(None)
    public.get(url)
    # Anonymous and cached: nothing from the database (no session, user nor header query).
    assert _count(public, url) == 0
    theirs = client_for(commissioner)
    theirs.get(url)
    # Signed in and cached: session and user, the user's memberships (may they see provisional
    # figures), the header's data links and unread-notification count, saving the session
    # (savepoint, update, release: SESSION_SAVE_EVERY_REQUEST), and on the overview the boroughs
    # they commission (shown unsuppressed); none of it grows with the data.
    expected = 9 if url.startswith("/dashboards/?") else 8
    assert _count(theirs, url) == expected
