"""The standard cast: a commissioner, a provider, a service user, an outsider, an anonymous visitor.

Each cast member is a user with a logged-in test client available through `client_for`.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.test import Client

from stakeholders.models import LivedExperience, OrganisationType, Role
from tests.factories import TEST_PASSWORD, MembershipFactory, OrganisationFactory, UserFactory


def pytest_configure(config):
    """Under pytest-xdist, each worker has a Celery queue of its own, as it has a database.

    pytest-django gives every worker its own test database; a worker process started by one
    test (tests.workers.Worker) must never take a task queued by a test in another.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    from django.conf import settings

    from londonmh.celery import app

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-{worker}"
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = queue  # read by the worker processes tests start
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    app.conf.task_default_queue = queue


@pytest.fixture(autouse=True, scope="session")
def _wsgi_conformance():
    # Every Client and APIClient request is checked as a strict WSGI server would check it:
    # a non-str header once answered 500 under the real server while every test passed.
    from tests.wsgi_conformance import install

    undo = install()
    yield
    undo()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Hashing with the production PBKDF2 work factor would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# One token per run: a test's node id is the same on every run, and a throttle count left
# in the real Redis by a run a minute ago would otherwise still be there.
RUN = uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def _isolated_cache(settings, request):
    # Each test gets its own cache namespace in the real Redis, so throttles and
    # cached pages never leak between tests, runs, or from the running portal.
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test:{RUN}:{request.node.nodeid}"},
    }


@pytest.fixture(autouse=True)
def _lazy_whitenoise(settings):
    # WhiteNoise scans every collected static file (thousands, with the Swagger and NHS.UK
    # assets) whenever a test Client builds its middleware: about a second per test.
    # Autorefresh mode looks a file up only when it is asked for, and serves the same bytes.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture
def commissioning_org(db):
    return OrganisationFactory(name="NCL ICB (test)", type=OrganisationType.ICB_COMMISSIONER, boroughs=["CMD", "ISL"])


@pytest.fixture
def provider_org(db):
    return OrganisationFactory(name="Provider Trust (test)", type=OrganisationType.NHS_MH_PROVIDER, boroughs=["CMD"])


@pytest.fixture
def other_org(db):
    return OrganisationFactory(name="Other Trust (test)", type=OrganisationType.NHS_MH_PROVIDER, boroughs=["LAM"])


@pytest.fixture
def commissioner(commissioning_org):
    return MembershipFactory(
        organisation=commissioning_org, role=Role.COMMISSIONER, user__display_name="Casey Commissioner"
    ).user


@pytest.fixture
def org_admin(commissioning_org):
    return MembershipFactory(organisation=commissioning_org, role=Role.ORG_ADMIN, user__display_name="Ada Admin").user


@pytest.fixture
def provider(provider_org):
    return MembershipFactory(
        organisation=provider_org, role=Role.DATA_SUBMITTER, user__display_name="Pat Provider"
    ).user


@pytest.fixture
def service_user(db):
    return UserFactory(display_name="Sky", lived_experience=LivedExperience.SERVICE_USER, show_lived_experience=True)


@pytest.fixture
def outsider(other_org):
    return MembershipFactory(organisation=other_org, role=Role.COMMISSIONER, user__display_name="Olly Outsider").user


@pytest.fixture
def staff(db):
    return UserFactory(display_name="Stef Staff", is_staff=True)


@pytest.fixture
def client_for(db):
    """client_for(user) -> a Client signed in as user (None: anonymous)."""

    def make(user=None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return make


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def worker_process(transactional_db, tmp_path):
    """A real Celery worker process on the real Redis broker, using the test database.

    Tests using it need transactional_db (the worker is another connection and must see
    committed rows). Yields a tests.workers.Worker: its mail folder, log and `wait_for`.
    """
    from tests.workers import Worker

    worker = Worker(tmp_path)
    try:
        yield worker
    finally:
        worker.stop()


def _database_url(settings_dict) -> str:
    from tests.workers import database_url

    return database_url(settings_dict)


def pytest_collection_modifyitems(config, items):
    """Every transactional test must restore the reference data it flushes.

    A transactional test ends by truncating every table; without serialized_rollback the
    areas from the data migrations are gone and content types come back with new ids, so a
    later test fails far from the cause. Fail at collection instead, naming the test.
    """
    offenders = []
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            offenders.append(item.nodeid)
        if "transactional_db" in getattr(item, "fixturenames", ()) and not (
            marker and marker.kwargs.get("serialized_rollback")
        ):
            offenders.append(item.nodeid)
    if offenders:
        raise pytest.UsageError(
            "These tests use a transactional database without serialized_rollback=True "
            "(mark them @pytest.mark.django_db(transaction=True, serialized_rollback=True)):\n  "
            + "\n  ".join(sorted(set(offenders)))
        )
