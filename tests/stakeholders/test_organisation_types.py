"""Every stakeholder group London's plan of action names can be entered as itself."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from commissioning.forms import provider_organisations
from stakeholders import services
from stakeholders.models import COMMISSIONER_TYPES, Organisation, OrganisationType
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"
T = OrganisationType


def test_the_groups_the_plan_names_each_have_a_type_of_their_own():
    kinds = {T.INDEPENDENT_PROVIDER, T.VOLUNTARY, T.NHS_ENGLAND, T.NATIONAL_PUBLIC_HEALTH, T.PUBLIC_HEALTH}
    kinds |= {T.AHSN, T.ARC, T.CLINICAL_NETWORK, T.OTHER}
    assert len(kinds) == 9
    assert "ahsn_arc" not in T.values
    assert T.NATIONAL_PUBLIC_HEALTH.label == "UK Health Security Agency / OHID (national public health)"


def test_an_independent_provider_is_a_provider_and_not_a_commissioner():
    independent = OrganisationFactory(type=T.INDEPENDENT_PROVIDER)
    assert not independent.is_commissioner and T.INDEPENDENT_PROVIDER not in COMMISSIONER_TYPES
    assert independent in provider_organisations()


def test_an_organisation_of_the_type_other_must_say_what_kind_it_is(staff):
    with pytest.raises(ValidationError) as caught:
        services.organisation_create(actor=staff, name="Healthwatch Camden", type=T.OTHER)
    assert "other_type" in caught.value.message_dict

    healthwatch = services.organisation_create(
        actor=staff, name="Healthwatch Camden", type=T.OTHER, other_type="  Healthwatch "
    )
    assert healthwatch.other_type == "Healthwatch"
    assert healthwatch.type_label == "Healthwatch"


def test_a_type_of_its_own_drops_the_kind_left_from_other(staff):
    ambulance = services.organisation_create(actor=staff, name="Ambulance", type=T.OTHER, other_type="Ambulance")
    services.organisation_update(actor=staff, organisation=ambulance, type=T.NHS_ENGLAND)
    ambulance.refresh_from_db()
    assert (ambulance.type, ambulance.other_type, ambulance.type_label) == (T.NHS_ENGLAND, "", "NHS England")


def test_the_database_refuses_other_without_a_kind_or_a_kind_without_other():
    organisation = OrganisationFactory(type=T.VOLUNTARY)
    for change in ({"type": T.OTHER}, {"other_type": "Healthwatch"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Organisation.objects.filter(pk=organisation.pk).update(**change)


def test_the_migration_splits_ahsn_arc_rows_by_name_and_leaves_voluntary_rows_alone():
    migration = importlib.import_module("stakeholders.migrations.0003_organisation_types_as_the_plan_names_them")
    network = OrganisationFactory(name="Health Innovation Network South London")
    arc = OrganisationFactory(name="NIHR ARC North Thames")
    research = OrganisationFactory(name="Applied Research Collaboration Kent")
    charity = OrganisationFactory(name="Camden Mind", type=T.VOLUNTARY)
    Organisation.objects.filter(pk__in=[network.pk, arc.pk, research.pk]).update(type="ahsn_arc")

    migration.split_ahsn_arc(apps, None)

    types = dict(
        Organisation.objects.filter(pk__in=[network.pk, arc.pk, research.pk, charity.pk]).values_list("name", "type")
    )
    assert types == {
        "Health Innovation Network South London": T.AHSN,
        "NIHR ARC North Thames": T.ARC,
        "Applied Research Collaboration Kent": T.ARC,
        "Camden Mind": T.VOLUNTARY,
    }


def test_the_directory_filters_independent_providers_apart_from_the_voluntary_sector(client):
    OrganisationFactory(name="Riverside Hospitals (test)", type=T.INDEPENDENT_PROVIDER)
    OrganisationFactory(name="Camden Mind (test)", type=T.VOLUNTARY)
    page = client.get("/organisations/", {"type": T.INDEPENDENT_PROVIDER}).text
    assert "Riverside Hospitals (test)" in page and "Camden Mind (test)" not in page
    assert '<option value="national_public_health"' in page and '<option value="other"' in page


def test_the_directory_and_the_organisation_page_show_an_other_organisations_own_kind(client, staff):
    services.organisation_create(actor=staff, name="Healthwatch Camden", type=T.OTHER, other_type="Healthwatch")
    assert '<td class="nhsuk-table__cell">Healthwatch</td>' in client.get("/organisations/").text
    assert ">Healthwatch</span>" in client.get("/organisations/healthwatch-camden/").text


def test_staff_set_the_type_and_kind_on_the_edit_page_and_org_admins_do_not_see_them(
    client_for, staff, org_admin, commissioning_org
):
    url = f"/organisations/{commissioning_org.slug}/edit/"
    assert 'name="type"' not in client_for(org_admin).get(url).text
    staff_client = client_for(staff)
    assert 'name="other_type"' in staff_client.get(url).text

    fields = {"name": commissioning_org.name, "description": "", "website": "", "type": T.OTHER}
    response = staff_client.post(url, fields)
    assert response.status_code == 200 and 'href="#id_other_type"' in response.text

    response = staff_client.post(url, {**fields, "other_type": "Regional government"})
    assert response.status_code == 302
    commissioning_org.refresh_from_db()
    assert (commissioning_org.type, commissioning_org.other_type) == (T.OTHER, "Regional government")


def test_the_api_creates_an_other_organisation_only_with_its_kind(client_for, staff):
    client = client_for(staff)
    response = client.post("/api/v1/organisations/", {"name": "LAS", "type": "other"}, content_type=JSON)
    assert response.status_code == 400
    assert any(error["field"] == "other_type" for error in response.json()["errors"])

    body = {"name": "LAS", "type": "other", "other_type": "Ambulance service"}
    response = client.post("/api/v1/organisations/", body, content_type=JSON)
    assert response.status_code == 201, response.content
    assert response.json()["other_type"] == "Ambulance service"
    listed = client.get("/api/v1/organisations/", {"type": "other"}).json()["results"]
    assert [o["name"] for o in listed] == ["LAS"]


def test_the_openapi_enum_lists_every_type(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/organisations/"]["get"]["parameters"]
    enum = next(p for p in parameters if p["name"] == "type")["schema"]["enum"]
    assert set(enum) == set(T.values)
