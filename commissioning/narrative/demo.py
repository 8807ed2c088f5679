"""Demo stories: London and two north central London boroughs, for the last complete quarter.

The text is never written here: the real drafting code (services.story_draft) reads the demo's
figures, actions, decisions and responses. London's and Islington's stories are then published
by the NCL ICB's demo commissioner; Camden's is left as a draft for her to check.

The other demos make their records at seeding time, which is in the current quarter; a story
tells a quarter that has ended. So, before drafting, the demo dates some of its own synthetic
records into the middle of that quarter: the demo actions already done (their history's first
"done"), the demo partnerships' agreed decisions and the accepted "you said, we did" responses.
Only demo records dated after the quarter are moved, so seeding twice changes nothing.
Idempotent: a quarter that already has stories is left alone.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from actionplan.models import Action, ActionStatus, Disposition, Response
from commissioning.decisions.models import Decision, DecisionStatus
from commissioning.narrative import services
from commissioning.narrative.models import Story
from outcomes.periods import PeriodType, last_day
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import Area, AreaLevel, User

DRAFT_ONLY = "CMD"  # Camden: left as a draft
PUBLISHED = ("LDN", "ISL")  # London and Islington: published


def _moment(quarter_start: dt.date) -> dt.datetime:
    day = quarter_start + dt.timedelta(days=45)
    return dt.datetime.combine(day, dt.time(10), tzinfo=timezone.get_current_timezone())


def _date_demo_facts(quarter_start: dt.date) -> None:
    """Move the demo's own recent facts into the quarter the stories tell (see the docstring)."""
    after = dt.datetime.combine(
        last_day(PeriodType.QUARTER, quarter_start) + dt.timedelta(days=1),
        dt.time(),
        tzinfo=timezone.get_current_timezone(),
    )
    at = _moment(quarter_start)
    events = Action.pgh_event_model.objects
    late = (
        events.filter(status=ActionStatus.DONE, pgh_obj__status=ActionStatus.DONE)
        .values("pgh_obj_id")
        .annotate(first=Min("pgh_created_at"))
        .filter(first__gte=after)
        .values("pgh_obj_id")
    )
    events.filter(pgh_obj_id__in=late, status=ActionStatus.DONE).update(pgh_created_at=at)
    Decision.objects.filter(status__in=[DecisionStatus.AGREED, DecisionStatus.DONE], decided_at__gte=after).update(
        decided_at=at
    )
    Response.objects.filter(
        disposition=Disposition.ACCEPTED, created_at__gte=after, author__email__endswith=f"@{DEMO_EMAIL_DOMAIN}"
    ).update(created_at=at, updated_at=at)


@transaction.atomic
def seed(today: dt.date | None = None) -> int:
    """Draft (and publish two of) the demo stories. Returns how many stories it made."""
    quarter = services.last_complete_quarter(today)
    if Story.objects.filter(quarter_start=quarter).exists():
        return 0
    priya = User.objects.filter(email=f"commissioner@{DEMO_EMAIL_DOMAIN}").first()
    if priya is None:
        return 0
    _date_demo_facts(quarter)
    areas = {
        a.short_code: a
        for a in Area.objects.filter(
            short_code__in=[*PUBLISHED, DRAFT_ONLY], level__in=[AreaLevel.LONDON, AreaLevel.BOROUGH]
        )
    }
    made = 0
    for code in (*PUBLISHED, DRAFT_ONLY):
        if code not in areas:
            continue
        result = services.story_draft(actor=None, area=areas[code], quarter_start=quarter)
        made += result.outcome == services.Drafted.CREATED
        if code in PUBLISHED:
            story = result.story
            services.story_publish(actor=priya, story=story, expected_version=story.version)
    return made
