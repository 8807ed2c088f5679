"""The open-data page and the package's files: public, with ETags, and a fixed number of queries."""

from __future__ import annotations

import json

import pytest

from opendata import package, services
from tests.opendata.conftest import APRIL

pytestmark = pytest.mark.django_db

PAGE = "/open-data/"


def test_before_the_first_build_the_page_says_so_and_the_files_are_404(client):
    response = client.get(PAGE)
    assert response.status_code == 200
    assert b'id="package-pending"' in response.content
    assert client.get("/open-data/datapackage.json").status_code == 404


def test_anyone_reads_the_page_with_its_licence_files_and_revision_log(client, client_for, service_user, figures):
    services.package_publish()
    for visitor in (client, client_for(service_user)):
        page = visitor.get(PAGE).content.decode()
        assert "Open Government Licence v3.0" in page
        assert 'href="/open-data/london-mental-health-open-data.zip"' in page
        assert 'href="/open-data/metrics.csv"' in page
        assert "Revision 1," in page and "First publication of the package" in page
        assert 'href="/open-data/contracts.json"' in page


def test_every_page_links_to_open_data_from_the_footer(client):
    assert 'href="/open-data/"' in client.get("/").content.decode()


def test_a_file_is_served_with_its_etag_and_a_304_when_unchanged(client, figures):
    release = services.package_publish()
    response = client.get("/open-data/datapackage.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    descriptor = json.loads(response.content)
    assert descriptor["version"] == release.version
    etag = response["ETag"]
    assert etag.startswith('"') and "public" in response["Cache-Control"]
    assert response["Access-Control-Allow-Origin"] == "*"
    assert client.get("/open-data/datapackage.json", HTTP_IF_NONE_MATCH=etag).status_code == 304
    csv_file = client.get("/open-data/metrics.csv")
    assert csv_file["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_file["Content-Disposition"] == 'attachment; filename="metrics.csv"'
    assert csv_file.content.startswith(b"indicator,indicator_name,area,")


def test_a_new_revision_changes_the_etag(client, figures):
    services.package_publish()
    first = client.get("/open-data/metrics.csv")["ETag"]
    figures.value(figures.recovery, "CMD", APRIL, 90, 103)
    figures.recompute()
    services.package_publish()
    response = client.get("/open-data/metrics.csv", HTTP_IF_NONE_MATCH=first)
    assert response.status_code == 200 and response["ETag"] != first


def test_an_unknown_file_is_404_and_writes_are_refused(client, figures):
    services.package_publish()
    assert client.get("/open-data/secrets.csv").status_code == 404
    assert client.get("/open-data/..%2Fsettings.py").status_code == 404
    assert client.post("/open-data/metrics.csv").status_code == 405
    assert client.post(PAGE).status_code == 405


def test_the_page_reads_a_fixed_number_of_queries(client, django_assert_num_queries, figures):
    # latest revision, its files (without their bytes), the revision log: 3 whatever the log's length.
    services.package_publish()
    with django_assert_num_queries(3):
        client.get(PAGE)
    for n in range(4):
        figures.value(figures.detentions, "CMD", APRIL, 40 + 10 * n)
        figures.recompute()
        services.package_publish()
    with django_assert_num_queries(3):
        assert "Revision 5," in client.get(PAGE).content.decode()


def test_a_file_reads_two_queries_and_one_when_unchanged(client, django_assert_num_queries, figures):
    # the file's row with its revision, then its bytes; a 304 never loads the bytes.
    services.package_publish()
    with django_assert_num_queries(2):
        etag = client.get("/open-data/" + package.ZIP_NAME)["ETag"]
    with django_assert_num_queries(1):
        assert client.get("/open-data/" + package.ZIP_NAME, HTTP_IF_NONE_MATCH=etag).status_code == 304
