"""Readable history from pghistory events, on a tracked model that exists today (Organisation)."""

from __future__ import annotations

import pghistory
import pytest
from pghistory.models import Events

from kernel.history import history_entries
from tests.factories import OrganisationFactory, UserFactory


@pytest.mark.django_db
def test_an_update_reads_as_who_changed_which_field_from_what_to_what():
    editor = UserFactory(display_name="Asha Patel")
    org = OrganisationFactory(name="Camden Mind")
    with pghistory.context(user=editor.pk):
        org.name = "Mind in Camden"
        org.save()

    entries = history_entries(Events.objects.tracks(org).order_by("-pgh_created_at", "-pgh_id"))

    latest = entries[0]
    assert (latest.verb, latest.who, latest.what) == ("changed", "Asha Patel", "Organisation")
    assert [(c.label, c.old, c.new) for c in latest.changes] == [("Name", "Camden Mind", "Mind in Camden")]
    assert entries[-1].verb == "created"


@pytest.mark.django_db
def test_choices_are_shown_by_their_labels_and_unknown_people_as_the_system():
    org = OrganisationFactory(type="voluntary")
    org.type = "housing"
    org.save()

    latest = history_entries(Events.objects.tracks(org).order_by("-pgh_created_at", "-pgh_id"))[0]

    assert latest.who == "the system"
    change = next(c for c in latest.changes if c.label == "Type")
    assert "housing" in change.new.lower() and "voluntary" in change.old.lower()


@pytest.mark.django_db
def test_a_write_service_names_its_actor_outside_any_request():
    # As a Celery task or a management command calls it: no request, no middleware.
    from stakeholders import services

    admin = UserFactory(display_name="Bea Admin", is_superuser=True, is_staff=True)
    org = OrganisationFactory(name="Haringey Recovery")
    services.organisation_update(actor=admin, organisation=org, name="Haringey Recovery College")

    latest = history_entries(Events.objects.tracks(org).order_by("-pgh_created_at", "-pgh_id"))[0]
    assert (latest.verb, latest.who) == ("changed", "Bea Admin")


@pytest.mark.django_db
def test_without_an_actor_a_write_is_the_systems():
    from kernel.history import records_actor

    @records_actor
    def rename(*, actor, organisation, name):
        organisation.name = name
        organisation.save()

    org = OrganisationFactory(name="Old name")
    rename(actor=None, organisation=org, name="New name")
    assert history_entries(Events.objects.tracks(org).order_by("-pgh_created_at", "-pgh_id"))[0].who == "the system"
