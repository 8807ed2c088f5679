"""Issue 19, way-finding: after sign-in each person lands where their work is (actionplan.selectors.landing_url).

It lives beside the action-plan tests because a service user's landing depends on the plans they follow.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actionplan.models import PlanVisibility
from actionplan.selectors import landing_url
from actionplan.voice import services as voice_services
from stakeholders.models import Role
from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _sign_in(client, user, **query):
    path = "/account/sign-in/"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return client.post(path, {"username": user.email, "password": TEST_PASSWORD})


def test_a_commissioner_lands_on_my_work(commissioner):
    assert landing_url(user=commissioner) == "/my-work/"


def test_a_provider_data_submitter_lands_on_my_work(provider):
    assert landing_url(user=provider) == "/my-work/"


def test_a_moderator_lands_on_the_moderation_queue(provider_org):
    moderator = MembershipFactory(organisation=provider_org, role=Role.MODERATOR).user
    assert landing_url(user=moderator) == "/moderation/"


def test_a_commissioner_who_also_moderates_lands_on_my_work_first(commissioning_org, commissioner):
    MembershipFactory(organisation=commissioning_org, role=Role.MODERATOR, user=commissioner)
    assert landing_url(user=commissioner) == "/my-work/"


def test_a_superuser_lands_on_the_moderation_queue(db):
    admin = UserFactory(is_staff=True, is_superuser=True)
    assert landing_url(user=admin) == "/moderation/"


def test_staff_without_roles_land_on_my_work(staff):
    assert landing_url(user=staff) == "/my-work/"


def test_a_service_user_who_follows_nothing_lands_on_the_plans_list(service_user):
    assert landing_url(user=service_user) == "/plans/"


def test_a_service_user_who_follows_one_plan_lands_on_that_plan(service_user, public_plan):
    voice_services.follow_create(actor=service_user, plan=public_plan)
    assert landing_url(user=service_user) == f"/plans/{public_plan.slug}/"


def test_a_service_user_who_follows_several_plans_lands_on_the_plans_list(service_user, make_plan):
    for title in ("First crisis plan", "Second crisis plan"):
        voice_services.follow_create(actor=service_user, plan=make_plan(title=title))
    assert landing_url(user=service_user) == "/plans/"


def test_a_followed_plan_that_became_partners_only_is_not_a_landing_page(service_user, public_plan):
    voice_services.follow_create(actor=service_user, plan=public_plan)
    public_plan.visibility = PlanVisibility.PARTNERS
    public_plan.save(update_fields=["visibility"])
    assert landing_url(user=service_user) == "/plans/"


def test_an_organisation_admin_without_data_roles_lands_on_the_plans_list(org_admin):
    assert landing_url(user=org_admin) == "/plans/"


def test_the_landing_of_a_service_user_takes_two_queries(service_user, public_plan):
    voice_services.follow_create(actor=service_user, plan=public_plan)
    with CaptureQueriesContext(connection) as queries:
        landing_url(user=service_user)
    assert len(queries) == 2


def test_the_landing_of_a_commissioner_takes_one_query(commissioner):
    with CaptureQueriesContext(connection) as queries:
        landing_url(user=commissioner)
    assert len(queries) == 1


# The sign-in page ---------------------------------------------------------------------


def test_signing_in_as_a_commissioner_goes_to_my_work(client, commissioner):
    response = _sign_in(client, commissioner)
    assert response.status_code == 302
    assert response["Location"] == "/my-work/"


def test_signing_in_as_a_service_user_goes_to_the_plans_list(client, service_user):
    response = _sign_in(client, service_user)
    assert response["Location"] == "/plans/"


def test_a_safe_next_parameter_still_wins_over_the_landing_page(client, commissioner):
    response = _sign_in(client, commissioner, next="/evidence/")
    assert response["Location"] == "/evidence/"


def test_an_unsafe_next_parameter_is_ignored_for_the_landing_page(client, commissioner):
    response = _sign_in(client, commissioner, next="https://evil.example/")
    assert response["Location"] == "/my-work/"


def test_the_sign_in_page_sends_a_signed_in_moderator_to_the_queue(client_for, provider_org):
    moderator = MembershipFactory(organisation=provider_org, role=Role.MODERATOR).user
    response = client_for(moderator).get("/account/sign-in/")
    assert response.status_code == 302
    assert response["Location"] == "/moderation/"
