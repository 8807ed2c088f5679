"""The permission matrix: every URL pattern x method x role answers as the table says.

The table (tests/matrix/table.py) has one row per URL pattern of the portal (pages and
/api/v1/), found by walking django.urls.get_resolver(); a pattern without a row fails the
test by name. Each cell is one letter per role (tests/matrix/world.py ROLES order):
A allowed, L redirected to sign in, F forbidden (401/403), N not found, - method not
accepted, E server error (never expected). Writes send a minimal body: a 400 on validation
still means the permission check let the role through (A).

The world is the demo data plus the objects each URL names (tests/matrix/world.py), built
once for the module; every request's writes are rolled back.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.matrix import world as world_module
from tests.matrix.probe import methods_for, send
from tests.matrix.routes import EXCLUDED_PREFIXES, kwargs_for, routes
from tests.matrix.table import TABLE

ROUTES, EXCLUDED = routes()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = world_module.build()
            built.clients = {}
            for role in world_module.ROLES:
                client = Client()
                user = built.users[role]
                if user is not None:
                    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
                built.clients[role] = client
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_every_url_pattern_has_a_row_in_the_table():
    missing = sorted(r.key for r in ROUTES if r.key not in TABLE)
    assert missing == [], f"URL patterns without a row in tests/matrix/table.py: {missing}"
    stale = sorted(set(TABLE) - {r.key for r in ROUTES})
    assert stale == [], f"rows in the table for URL patterns that no longer exist: {stale}"


def test_only_the_admin_static_files_and_the_api_schema_and_docs_are_left_out():
    assert EXCLUDED, "the walk found the excluded routes"
    for route in EXCLUDED:
        assert route.startswith(tuple(EXCLUDED_PREFIXES)), route


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[r.key for r in ROUTES])
def test_each_role_gets_the_expected_answer_for_each_method(route, world):
    url = reverse(route.key.removesuffix(".format"), kwargs=kwargs_for(route.key, route.params, world))
    api = route.route.startswith("api/")
    observed = {}
    for method in methods_for(route):
        letters = ""
        for role in world_module.ROLES:
            # Signing out ends the session: that route gets a client of its own.
            client = world.clients[role]
            if route.key == "logout":
                client = Client()
                if world.users[role] is not None:
                    client.force_login(world.users[role], backend="django.contrib.auth.backends.ModelBackend")
            letters += send(client, method, url, api)
        observed[method] = letters
    assert observed == TABLE[route.key], (
        f"{route.key} {url}: roles {world_module.ROLES}\n expected {TABLE[route.key]}\n observed {observed}"
    )


def _private_urls(world) -> list[tuple[str, str]]:
    o = world.objects
    plan, action, milestone, comment = o["plans"]["partners"]
    contract, submission = o["private_contract"], o["submission"]
    return [
        ("GET", reverse("plan_detail", kwargs={"slug": plan.slug})),
        ("GET", reverse("plan_edit", kwargs={"slug": plan.slug})),
        ("GET", reverse("action_detail", kwargs={"slug": plan.slug, "pk": action.pk})),
        ("GET", reverse("voice_plan_thread", kwargs={"slug": plan.slug})),
        ("GET", reverse("plan-detail", kwargs={"slug": plan.slug})),
        ("GET", reverse("action-detail", kwargs={"pk": action.pk})),
        ("GET", reverse("milestone-detail", kwargs={"pk": milestone.pk})),
        ("GET", reverse("comment-detail", kwargs={"pk": comment.pk})),
        ("GET", reverse("contract_detail", kwargs={"pk": contract.pk})),
        ("GET", reverse("contract_edit", kwargs={"pk": contract.pk})),
        ("GET", reverse("contract-detail", kwargs={"pk": contract.pk})),
        ("GET", reverse("contract_ocds", kwargs={"pk": contract.pk})),
        ("GET", reverse("submission_detail", kwargs={"pk": submission.pk})),
        ("GET", reverse("submission-detail", kwargs={"pk": submission.pk})),
        ("GET", reverse("submission-issues", kwargs={"submission_id": submission.pk})),
        ("POST", reverse("voice_notification_read", kwargs={"pk": o["notification"].pk})),
        ("GET", reverse("notification-detail", kwargs={"pk": o["notification"].pk})),
        ("POST", reverse("api_token_revoke", kwargs={"key": o["token"].token_key})),
        ("GET", reverse("schedule_detail", kwargs={"pk": o["schedule"].pk})),
        ("GET", reverse("reporting-schedule-detail", kwargs={"pk": o["schedule"].pk})),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["provider_other", "commissioner_nogrant", "service_user"])
def test_probing_another_organisations_private_objects_answers_404_not_403(role, world):
    answers = {
        f"{method} {url}": send(world.clients[role], method, url, url.startswith("/api/"))
        for method, url in _private_urls(world)
    }
    assert {k: v for k, v in answers.items() if v != "N"} == {}, f"{role} saw more than a 404"


@pytest.mark.django_db
def test_the_owners_get_past_the_same_urls(world):
    # The probe above means something: the owning side reads every one of those objects.
    urls = _private_urls(world)
    owners = ["commissioner_grant"] * 12 + ["provider_own"] * 8
    for (method, url), role in zip(urls, owners, strict=True):
        assert send(world.clients[role], method, url, url.startswith("/api/")) == "A", (role, method, url)


@pytest.mark.django_db
def test_a_moderator_acts_only_on_comments_of_plans_they_may_view(world):
    # The demo moderator's organisation is no partner of the partners-only plan: its comment
    # is a 404 to them, to read or to act on, as for any stranger; the public plan's is theirs.
    client = world.clients["moderator"]
    hidden = world.objects["plans"]["partners"][3]
    public = world.objects["plans"]["public"][3]
    for method in ("GET", "POST"):
        assert send(client, method, reverse("voice_moderate_comment", kwargs={"pk": hidden.pk}), False) == "N"
        assert send(client, method, reverse("voice_moderate_comment", kwargs={"pk": public.pk}), False) == "A"
    assert send(client, "GET", reverse("comment-detail", kwargs={"pk": hidden.pk}), True) == "N"
