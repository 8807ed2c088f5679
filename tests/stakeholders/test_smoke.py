from __future__ import annotations

import pytest

from stakeholders.models import Area, AreaLevel

pytestmark = pytest.mark.django_db


def test_the_migration_loads_thirty_three_boroughs_five_sub_regions_and_london():
    assert Area.objects.filter(level=AreaLevel.BOROUGH).count() == 33
    assert Area.objects.filter(level=AreaLevel.SUB_REGION).count() == 5
    london = Area.objects.get(level=AreaLevel.LONDON)
    assert london.code == "E12000007"
    assert london.population == 8_799_800


def test_the_home_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"London mental health portal" in response.content
