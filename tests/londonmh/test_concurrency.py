"""The shared optimistic-concurrency helpers, exercised on a real versioned table.

The versioned apps (plans, contracts) test their own flows end to end; these tests pin
the compare-and-set and the If-Match parsing that all of them share.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, models
from django.test.utils import isolate_apps
from rest_framework.test import APIRequestFactory

from kernel.concurrency import (
    PreconditionFailed,
    PreconditionRequired,
    StaleEdit,
    Versioned,
    etag_for,
    expected_version_from_request,
    update_versioned,
)


@pytest.fixture
def Note(django_db_blocker):
    """A throwaway versioned table, in an isolated app registry (no content type, no migration)."""
    with isolate_apps("londonmh"):

        class Note(Versioned):
            text = models.TextField()

            class Meta:
                app_label = "londonmh"
                db_table = "test_concurrency_note"

    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.create_model(Note)
    yield Note
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.delete_model(Note)


@pytest.mark.django_db
def test_a_write_from_the_current_version_wins_and_bumps_the_version(Note):
    note = Note.objects.create(text="first")
    update_versioned(note, expected_version=1, values={"text": "second"})
    note.refresh_from_db()
    assert (note.text, note.version) == ("second", 2)


@pytest.mark.django_db
def test_a_write_from_an_old_version_is_refused_with_the_current_row(Note):
    note = Note.objects.create(text="first")
    update_versioned(note, expected_version=1, values={"text": "theirs"})
    with pytest.raises(StaleEdit) as caught:
        update_versioned(Note.objects.get(pk=note.pk), expected_version=1, values={"text": "mine"})
    assert caught.value.current.text == "theirs"
    assert Note.objects.get(pk=note.pk).text == "theirs"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_many_concurrent_writers_from_one_version_exactly_one_wins(Note):
    note = Note.objects.create(text="start")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            update_versioned(Note.objects.get(pk=note.pk), expected_version=1, values={"text": f"writer {n}"})
            outcomes.append("won")
        except StaleEdit:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    assert Note.objects.get(pk=note.pk).version == 2


def _request(if_match: str | None):
    headers = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
    return APIRequestFactory().patch("/", **headers)


def test_if_match_gives_the_expected_version():
    assert expected_version_from_request(_request('"v7"')) == 7
    assert expected_version_from_request(_request('W/"v3"')) == 3


def test_a_missing_if_match_is_428():
    with pytest.raises(PreconditionRequired) as caught:
        expected_version_from_request(_request(None))
    assert caught.value.status_code == 428


def test_an_if_match_we_never_issued_is_412():
    with pytest.raises(PreconditionFailed):
        expected_version_from_request(_request('"abc"'))


def test_the_etag_names_the_version(Note):
    assert etag_for(Note(version=4)) == '"v4"'
