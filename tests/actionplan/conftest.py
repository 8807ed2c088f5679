"""Plans for the action-plan tests (and issue 6's voice tests, which sit below this folder).

Plans are made through the services, so they carry the grants a real plan has: the
creating commissioner manages it, the lead organisation may change it, partners view it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from actionplan import services
from actionplan.models import KeyStep, PlanStatus, PlanVisibility


@pytest.fixture
def key_steps(db):
    return list(KeyStep.objects.order_by("number"))


@pytest.fixture
def make_plan(commissioner, commissioning_org):
    """make_plan(title=..., status=..., visibility=..., actor=..., **kwargs) -> Plan made by the service."""

    def make(
        title: str = "Camden and Islington crisis plan",
        status: str = PlanStatus.ACTIVE,
        visibility: str = PlanVisibility.PUBLIC,
        actor=None,
        **kwargs,
    ):
        kwargs.setdefault("lead_organisation", commissioning_org)
        kwargs.setdefault("period_start", dt.date(2026, 4, 1))
        kwargs.setdefault("period_end", dt.date(2029, 3, 31))
        return services.plan_create(
            actor=actor or commissioner, title=title, status=status, visibility=visibility, **kwargs
        )

    return make


@pytest.fixture
def make_action(commissioner, commissioning_org, key_steps):
    """make_action(plan, step=1, title=..., **values) -> Action made by the service."""

    def make(plan, step: int = 1, title: str = "Open a crisis café", actor=None, **values):
        values.setdefault("owner_organisation", commissioning_org)
        return services.action_create(
            actor=actor or commissioner, plan=plan, key_step=key_steps[step - 1], title=title, **values
        )

    return make


@pytest.fixture
def public_plan(make_plan):
    return make_plan()


@pytest.fixture
def partners_plan(make_plan):
    """An active plan only its partners see (no partners beyond the lead organisation here)."""
    return make_plan(title="Partners-only workforce plan", visibility=PlanVisibility.PARTNERS)


@pytest.fixture
def draft_plan(make_plan):
    return make_plan(title="Draft borough plan", status=PlanStatus.DRAFT)
