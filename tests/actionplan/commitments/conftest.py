"""A plan with two partners for the commitments tests: the lead (the test commissioner's ICB)
and a provider trust whose organisation admin is its accountable officer."""

from __future__ import annotations

import pytest

from actionplan.models import PlanStatus
from stakeholders.models import Role
from tests.factories import MembershipFactory


@pytest.fixture
def provider_admin(provider_org):
    return MembershipFactory(
        organisation=provider_org, role=Role.ORG_ADMIN, user__display_name="Pia Provider Admin"
    ).user


@pytest.fixture
def plan(make_plan, provider_org, key_steps):
    return make_plan(title="Shared crisis plan", status=PlanStatus.CONSULTATION, partners=[provider_org])
