"""/api/v1/areas/ and /api/v1/boroughs/: public, paginated, filtered, ordered."""

from __future__ import annotations

import pytest

from stakeholders.models import Area, AreaLevel
from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_anyone_reads_the_areas_with_the_standard_page_shape(client):
    response = client.get("/api/v1/areas/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 39  # London, 5 sub-regions, 33 boroughs
    assert body["next"] is None
    assert body["previous"] is None
    assert len(body["results"]) == 39


def test_an_area_carries_its_code_parent_and_link(client):
    camden = client.get("/api/v1/areas/E09000007/").json()
    assert camden["name"] == "Camden"
    assert camden["short_code"] == "CMD"
    assert camden["level"] == "borough"
    assert camden["url"] == "http://testserver/api/v1/areas/E09000007/"
    parent = Area.objects.get(code=camden["parent"])
    assert parent.level == AreaLevel.SUB_REGION
    assert camden["inner_london"] is True
    assert camden["population"] > 0


def test_the_page_links_walk_through_the_areas(client):
    first = client.get("/api/v1/areas/", {"page_size": 10}).json()
    assert len(first["results"]) == 10
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert "page_size=10" in first["next"]

    last = client.get("/api/v1/areas/", {"page_size": 10, "page": 4}).json()
    assert len(last["results"]) == 9
    assert last["next"] is None
    assert "page=3" in last["previous"]


def test_a_page_past_the_end_is_a_problem(client):
    assert_problem(client.get("/api/v1/areas/", {"page": 99}), 404)


def test_the_boroughs_endpoint_lists_the_33_boroughs(client):
    body = client.get("/api/v1/boroughs/").json()
    assert body["count"] == 33
    assert {a["level"] for a in body["results"]} == {"borough"}
    assert client.get("/api/v1/boroughs/E09000007/").json()["name"] == "Camden"


def test_a_sub_region_is_not_a_borough(client):
    ncl = Area.objects.get(code="E09000007").parent
    assert_problem(client.get(f"/api/v1/boroughs/{ncl.code}/"), 404)
    assert client.get(f"/api/v1/areas/{ncl.code}/").status_code == 200


def test_areas_filter_by_level(client):
    body = client.get("/api/v1/areas/", {"level": "sub_region"}).json()
    assert body["count"] == 5
    assert client.get("/api/v1/areas/", {"level": "borough"}).json()["count"] == 33
    london = client.get("/api/v1/areas/", {"level": "london"}).json()["results"]
    assert [a["code"] for a in london] == ["E12000007"]


def test_areas_filter_by_parent(client):
    ncl = Area.objects.get(code="E09000007").parent
    body = client.get("/api/v1/areas/", {"parent": ncl.code}).json()
    codes = {a["code"] for a in body["results"]}
    assert "E09000007" in codes  # Camden
    assert codes == set(Area.objects.filter(parent=ncl).values_list("code", flat=True))
    assert client.get("/api/v1/areas/", {"parent": "E12000007"}).json()["count"] == 5  # London's sub-regions


def test_boroughs_filter_inner_and_outer_london(client):
    inner = client.get("/api/v1/boroughs/", {"inner_london": "true"}).json()["count"]
    outer = client.get("/api/v1/boroughs/", {"inner_london": "false"}).json()["count"]
    assert inner + outer == 33
    assert inner == Area.objects.boroughs().filter(inner_london=True).count()


def test_an_invalid_filter_value_is_a_validation_problem(client):
    body = assert_problem(client.get("/api/v1/areas/", {"level": "planet"}), 400)
    assert [e["field"] for e in body["errors"]] == ["level"]


def test_areas_order_by_population(client):
    results = client.get("/api/v1/boroughs/", {"ordering": "-population"}).json()["results"]
    populations = [a["population"] for a in results]
    assert populations == sorted(populations, reverse=True)
    names = [a["name"] for a in client.get("/api/v1/boroughs/", {"ordering": "name"}).json()["results"]]
    assert names == sorted(names)


def test_areas_search_by_name_or_short_code(client):
    assert [a["code"] for a in client.get("/api/v1/boroughs/", {"search": "camden"}).json()["results"]] == ["E09000007"]
    assert [a["name"] for a in client.get("/api/v1/boroughs/", {"search": "ISL"}).json()["results"]] == ["Islington"]


def test_an_unknown_area_is_a_problem(client):
    assert_problem(client.get("/api/v1/areas/E09999999/"), 404)


def test_areas_are_read_only(client, client_for, staff):
    assert_problem(client.post("/api/v1/areas/", {"code": "X"}, content_type="application/json"), 401)
    assert_problem(client_for(staff).post("/api/v1/areas/", {"code": "X"}, content_type="application/json"), 405)
    assert_problem(client_for(staff).delete("/api/v1/areas/E09000007/"), 405)
    assert Area.objects.filter(code="E09000007").exists()
