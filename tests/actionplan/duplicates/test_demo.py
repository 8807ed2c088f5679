"""The demo shows duplicated work: pairs to decide, one merged and one dismissed."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from actionplan.duplicates import selectors
from actionplan.duplicates.models import DismissedPair, MergeRecord, SharedAction
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_has_pairs_to_decide_a_merge_and_a_dismissal_and_loads_idempotently(settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")
    record = MergeRecord.objects.get()
    assert record.is_live and record.retired.merged_into == record.kept
    assert SharedAction.objects.get().plan == record.retired.plan
    assert DismissedPair.objects.count() == 1
    priya = User.objects.get(email=f"commissioner@{DEMO_EMAIL_DOMAIN}")
    tom = User.objects.get(email=f"la.commissioner@{DEMO_EMAIL_DOMAIN}")
    titles = {(p.a.title, p.b.title) for p in selectors.candidate_page(priya, page_size=1000).pairs}
    assert ("Crisis café in every NCL borough", "Crisis café in every Islington neighbourhood") in titles
    tom_titles = {frozenset((p.a.title, p.b.title)) for p in selectors.candidate_page(tom, page_size=1000).pairs}
    assert (
        frozenset(
            (
                "Tenancy sustainment workers in community teams",
                "Tenancy sustainment workers in NCL community mental health teams",
            )
        )
        in tom_titles
    )
