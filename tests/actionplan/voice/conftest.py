"""Cast and helpers for the voice tests: a moderator, a clinician, comments made by the services."""

from __future__ import annotations

import pytest

from actionplan.voice import services
from stakeholders.models import LivedExperience, Role
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture
def moderator(db):
    organisation = OrganisationFactory(name="Moderators (test)")
    return MembershipFactory(organisation=organisation, role=Role.MODERATOR, user__display_name="Mo Moderator").user


@pytest.fixture
def carer(db):
    return UserFactory(display_name="Cam Carer", lived_experience=LivedExperience.CARER)


@pytest.fixture
def make_comment(public_plan, service_user):
    """make_comment(plan=public_plan, author=service_user, body=..., **kwargs) -> Comment made by the service."""

    def make(plan=None, author=None, body="More crisis beds in Camden, please.", **kwargs):
        return services.comment_create(actor=author or service_user, plan=plan or public_plan, body=body, **kwargs)

    return make
