"""The models, grants and permission questions hang together."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.http import Http404

from actionplan import permissions
from actionplan.key_steps import KEY_STEPS
from actionplan.models import Action, KeyStep, Plan, PlanStatus
from tests.factories import MembershipFactory, UserFactory


def test_the_nine_key_steps_are_loaded_by_the_data_migration(db):
    steps = list(KeyStep.objects.values_list("number", "slug", "title", "description"))
    assert steps == KEY_STEPS
    assert all(KeyStep.objects.values_list("description", flat=True))


def test_the_creator_manages_a_new_plan_and_the_lead_organisation_may_change_it(
    make_plan, commissioner, commissioning_org
):
    plan = make_plan()
    assert permissions.can_manage_plan(commissioner, plan)
    colleague = MembershipFactory(organisation=commissioning_org).user
    assert permissions.can_change_plan(colleague, plan)
    assert not permissions.can_manage_plan(colleague, plan)


def test_a_public_plan_is_read_by_anonymous_visitors_but_a_partners_plan_is_not(
    public_plan, partners_plan, draft_plan, client_for
):
    from django.contrib.auth.models import AnonymousUser

    anonymous = AnonymousUser()
    assert permissions.can_view_plan(anonymous, public_plan)
    assert not permissions.can_view_plan(anonymous, partners_plan)
    assert not permissions.can_view_plan(anonymous, draft_plan)
    assert set(permissions.plans_visible_to(anonymous)) == {public_plan}


def test_a_stranger_gets_404_for_a_partners_only_plan(partners_plan, outsider):
    with pytest.raises(Http404):
        permissions.get_plan_for_user_or_404(outsider, partners_plan.slug)
    assert partners_plan not in permissions.plans_visible_to(outsider)


def test_an_organisation_grant_reaches_every_member(partners_plan, commissioner, other_org, outsider):
    from actionplan import services

    services.plan_set_grant(actor=commissioner, plan=partners_plan, level=permissions.VIEW, organisation=other_org)
    fresh = type(outsider).objects.get(pk=outsider.pk)
    assert permissions.can_view_plan(fresh, partners_plan)
    assert not permissions.can_change_plan(fresh, partners_plan)
    assert partners_plan in permissions.plans_visible_to(fresh)


def test_service_users_may_comment_on_active_plans_but_never_on_drafts(public_plan, draft_plan, service_user):
    assert permissions.can_comment_on_plan(service_user, public_plan)
    assert not permissions.can_comment_on_plan(service_user, draft_plan)
    stranger = UserFactory()
    assert not permissions.can_comment_on_plan(stranger, public_plan)


def test_the_database_refuses_progress_above_100(public_plan, make_action):
    action = make_action(public_plan)
    with pytest.raises(IntegrityError), transaction.atomic():
        Action.objects.filter(pk=action.pk).update(progress=101)


def test_closed_plans_are_read_only_even_for_their_manager(make_plan, commissioner):
    plan = make_plan(status=PlanStatus.CLOSED)
    assert permissions.can_manage_plan(commissioner, plan)
    assert not permissions.can_change_plan(commissioner, plan)
    assert Plan.objects.filter(pk=plan.pk).exists()
