"""The OpenAPI schema is valid and warning-free; Swagger UI is served from our own static files."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db

STAKEHOLDER_PATHS = {
    "/api/v1/areas/": {"get"},
    "/api/v1/areas/{code}/": {"get"},
    "/api/v1/boroughs/": {"get"},
    "/api/v1/boroughs/{code}/": {"get"},
    "/api/v1/organisations/": {"get", "post"},
    "/api/v1/organisations/{slug}/": {"get", "patch", "delete"},
    "/api/v1/memberships/": {"get"},
    "/api/v1/memberships/{id}/": {"get", "patch", "delete"},
    "/api/v1/me/": {"get"},
}


@pytest.fixture
def schema(tmp_path) -> dict:
    # Warnings are counted process-wide; count only this generation's.
    GENERATOR_STATS.reset()
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def test_the_schema_validates_without_warnings(schema):
    # The fixture raised if spectacular warned or the OpenAPI validation failed.
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "londonmh API"


def test_the_schema_lists_the_stakeholder_endpoints_and_their_methods(schema):
    for path, methods in STAKEHOLDER_PATHS.items():
        assert path in schema["paths"], path
        offered = set(schema["paths"][path]) - {"parameters"}
        assert offered == methods, (path, offered)


def test_the_schema_documents_token_and_session_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["personalToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "A personal API token from your profile page, sent as `Token <token>`.",
    }
    assert "cookieAuth" in schemes


def test_the_organisation_list_documents_pagination_and_filters(schema):
    operation = schema["paths"]["/api/v1/organisations/"]["get"]
    parameters = {p["name"] for p in operation["parameters"]}
    assert {"page", "page_size", "type", "borough", "ordering", "search"} <= parameters
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][page]["properties"]) == {"count", "next", "previous", "results"}


def test_the_schema_is_served_to_anonymous_visitors(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert "/api/v1/organisations/" in yaml.safe_load(response.content)["paths"]

    as_json = client.get("/api/schema/", {"format": "json"})
    assert as_json.status_code == 200
    assert as_json.json()["info"]["title"] == "londonmh API"


def test_swagger_ui_loads_every_asset_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()

    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', html) if not a.startswith("#")]
    assert assets, "Swagger UI should reference its bundle"
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not on our host"
    # An SVG's xmlns names a namespace and loads nothing.
    loaded = re.sub(r'xmlns="[^"]*"', "", html)
    assert not re.search(r"cdn|unpkg|jsdelivr|cdnjs|//[a-z0-9.-]+\.(?:com|net|org)", loaded, re.IGNORECASE)

    static = [a for a in assets if a.startswith("/static/")]
    assert any("swagger-ui-bundle" in a and a.endswith(".js") for a in static)
    assert any(a.endswith(".css") for a in static)
    for asset in static:
        assert client.get(asset).status_code == 200, asset


def test_swagger_ui_starts_from_a_script_file_so_the_csp_needs_no_inline_script(client):
    html = client.get("/api/docs/").content.decode()
    assert re.search(r"<script>\s*\S", html) is None  # no inline script body
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_the_api_docs_page_carries_the_portal_header_and_a_way_back(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'class="nhsuk-header' in html and "London mental health portal" in html
    assert '<a href="/">Back to the portal</a>' in html
    assert '<div id="swagger-ui"' in html
    assert 'href="/api/schema/"' in html and 'href="/api/schema/?format=json"' in html


def test_the_api_docs_page_shows_who_is_signed_in_like_any_other_page(client_for, commissioner):
    html = client_for(commissioner).get("/api/docs/").content.decode()
    assert "Casey Commissioner" in html and "Sign out" in html


def test_the_api_docs_page_is_never_throttled_as_an_api_call(client, client_for, commissioner, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "rate", "2/minute", raising=False)
    monkeypatch.setattr(UserRateThrottle, "rate", "2/minute", raising=False)
    signed_in = client_for(commissioner)
    for _ in range(5):
        for visitor in (client, signed_in):
            page = visitor.get("/api/docs/")
            assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
            script = visitor.get("/api/docs/", {"script": ""})
            assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_the_schema_stays_throttled_as_the_api_call_it_is(client, monkeypatch):
    # Generating it is costly and scripts read it: over the rate, problem details with Retry-After.
    monkeypatch.setattr(AnonRateThrottle, "rate", "2/minute", raising=False)
    for _ in range(2):
        assert client.get("/api/schema/").status_code == 200
    response = client.get("/api/schema/")
    assert_problem(response, 429)
    assert int(response["Retry-After"]) > 0
