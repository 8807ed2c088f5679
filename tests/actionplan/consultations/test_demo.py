"""The demo shows consultations and closing the loop, and loads idempotently."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from actionplan.consultations import demo, selectors
from actionplan.consultations.disclosure import ALSO_HIDDEN, SHOWN, SMALL_HIDDEN
from actionplan.models import ChangeCheck, Consultation

pytestmark = pytest.mark.django_db


def test_the_demo_has_an_open_and_a_closed_consultation_and_ratings_of_a_done_action(settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")
    open_one = Consultation.objects.get(title=demo.OPEN_TITLE)
    closed = Consultation.objects.get(title=demo.CLOSED_TITLE)
    assert (open_one.state(), closed.state()) == ("open", "closed")
    results = selectors.results(open_one)
    assert results.respondents == demo.RESPONDENTS
    where = results.questions[0].breakdown
    assert [c.state for c in where.cells] == [SHOWN, SHOWN, ALSO_HIDDEN, SMALL_HIDDEN]
    assert results.questions[1].mean is not None  # every scale point has 5 or more
    assert len(results.questions[3].texts) == 3  # the fourth waits for a moderator
    checks = ChangeCheck.objects.filter(action__plan=open_one.plan)
    assert checks.filter(answered_at__isnull=False).count() == len(demo.RATINGS)
    assert checks.first().action.status == "done"
    impact = selectors.impact(open_one.plan, with_comments=False)
    assert impact.ratings.total == len(demo.RATINGS) and impact.ratings.any_hidden
