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
