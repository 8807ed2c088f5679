"""The quarterly beat job on a real Celery worker: it drafts London's and every borough's story of
the last complete quarter once, reports progress, and a second run duplicates nothing and leaves
an edited draft exactly as its editor left it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from actionplan.models import Notification
from commissioning.narrative import services
from commissioning.narrative.models import Story
from commissioning.narrative.tasks import stories_draft_quarter
from outcomes.models import Metric, Polarity
from outcomes.periods import add_months
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_beat_job_drafts_every_area_once_and_keeps_an_edited_draft(worker_process, commissioner):
    assert "stories-draft-quarterly" in settings.CELERY_BEAT_SCHEDULE
    quarter = services.last_complete_quarter()
    camden = Area.objects.get(short_code="CMD", level=AreaLevel.BOROUGH)
    indicator = IndicatorFactory(name="Recovery (worker test)", polarity=Polarity.HIGHER_BETTER)
    Metric.objects.create(
        indicator=indicator,
        area=camden,
        period_start=add_months(quarter, 2),
        basis="approved",
        numerator=60,
        denominator=100,
        value=Decimal("60"),
        trend="increasing",
        computed_at=timezone.now(),
    )
    areas = Area.objects.filter(level__in=[AreaLevel.LONDON, AreaLevel.BOROUGH]).count()

    first = stories_draft_quarter.delay().get(timeout=120)
    assert first == {"created": areas, "refreshed": 0, "kept": 0}
    story = Story.objects.get(area=camden, quarter_start=quarter)
    assert "**Recovery (worker test)** got significantly better: 60.0%" in story.body
    # Camden's and Islington's commissioner is told of Camden's, Islington's and London's drafts.
    assert Notification.objects.filter(recipient=commissioner, kind="story").count() == 3

    services.story_update(
        actor=commissioner,
        story=story,
        expected_version=story.version,
        title="Camden, in our words",
        body="Checked by us.",
        easy_read="Checked.",
    )
    second = stories_draft_quarter.delay(quarter.isoformat()).get(timeout=120)
    assert second == {"created": 0, "refreshed": areas - 1, "kept": 1}
    assert Story.objects.count() == areas
    story.refresh_from_db()
    assert (story.title, story.body) == ("Camden, in our words", "Checked by us.\n")
    assert Notification.objects.filter(recipient=commissioner, kind="story").count() == 3
    assert "stories_draft_quarter" in worker_process.log()
