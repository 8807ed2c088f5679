"""The demo shows every state of the matrix, and loads twice without change."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from actionplan.commitments import selectors
from actionplan.demo import CAMDEN_TITLE, NCL_TITLE, PAN_LONDON_TITLE
from actionplan.models import ActionCoOwner, Commitment, Plan, PlanStatus
from actionplan.voice import permissions as voice_permissions
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_has_an_unsigned_partner_a_stale_signature_an_uncovered_step_and_a_co_signature(settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", "--quiet")
    counts = (Commitment.objects.count(), ActionCoOwner.objects.count())
    call_command("seed_demo", "--quiet")
    assert (Commitment.objects.count(), ActionCoOwner.objects.count()) == counts

    ncl = Plan.objects.get(title=NCL_TITLE)
    matrix = selectors.matrix(ncl)
    states = {r.organisation.name: r.state for r in matrix.rows}
    assert states == {
        "NHS North Central London Integrated Care Board": selectors.SIGNED,
        "Camden Council": selectors.SIGNED,
        "Northbank Mental Health NHS Foundation Trust": selectors.STALE,
        "Mind in North London (demo)": selectors.UNSIGNED,
    }
    assert [s.number for s in matrix.uncovered_steps] == [9]
    assert [r.state for r in matrix.representatives] == [selectors.SIGNED]
    assert ActionCoOwner.objects.filter(action__plan=ncl, organisation__name="Camden Council").exists()
    # The pan-London plan passed the gate on recorded reasons; the NCL plan cannot yet: Mind has
    # not signed and Northbank's signature is stale.
    assert Plan.objects.get(title=PAN_LONDON_TITLE).status == PlanStatus.ACTIVE
    assert not selectors.matrix(Plan.objects.get(title=PAN_LONDON_TITLE)).blockers
    assert [o.name for o in selectors.activation_blockers(ncl)] == [
        "Mind in North London (demo)",
        "Northbank Mental Health NHS Foundation Trust",
    ]
    # Alex represents carers on the Camden draft: sees it and comments first.
    alex = User.objects.get(email=f"carer@{DEMO_EMAIL_DOMAIN}")
    assert voice_permissions.can_comment(alex, Plan.objects.get(title=CAMDEN_TITLE))
