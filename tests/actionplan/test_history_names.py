"""Plan history names a linked indicator by its indicator, not by the link's internal id."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pghistory.models import Events

from actionplan.models import ActionIndicator
from kernel.history import history_entries
from tests.factories import IndicatorFactory

pytestmark = pytest.mark.django_db


def test_a_linked_indicator_is_named_by_its_indicator_in_history(public_plan, make_action):
    action = make_action(public_plan)
    indicator = IndicatorFactory(
        code="crisis-wait", name="Crisis waiting time", definition="x", measure="proportion", period_type="month"
    )
    link = ActionIndicator.objects.create(action=action, indicator=indicator, target=Decimal(50))

    entries = history_entries(Events.objects.tracks(link).order_by("-pgh_created_at", "-pgh_id"))

    created = entries[-1]
    assert (created.what, created.verb) == ("Linked indicator", "created")
    assert created.object_repr == "Crisis waiting time"
    assert str(link.pk) != created.object_repr


def test_history_shows_a_changed_moment_in_london_time_not_iso_text():
    from actionplan.models import PlanRepresentative
    from kernel.history import _value

    # pghistory's diff holds a datetime as ISO text in UTC; the page shows it as people read dates.
    assert _value(PlanRepresentative, "cosigned_at", "2026-07-01T09:30:00+00:00", {}) == "1 July 2026 at 10:30"
    assert _value(PlanRepresentative, "cosigned_at", None, {}) == "(empty)"
