"""Every write about quarterly stories. Permissions: commissioning.narrative.permissions.

Who is told (actionplan.voice.services.notify, kind `story`):
- a new draft: the commissioners who may edit it (a borough's: commissioners of organisations
  commissioning the borough; London's: every commissioner), once per story;
- a story published: the followers of public plans covering its area (for London the
  pan-London plans; for a borough the plans naming it or its ICS sub-region), once per story.
Nobody is told of their own act.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from actionplan.models import Follow, NotificationKind
from actionplan.voice import services as notification_services
from commissioning.narrative import compose, permissions
from commissioning.narrative.models import Story, StoryStatus
from kernel.concurrency import StaleEdit, update_versioned
from kernel.history import records_actor
from outcomes.periods import PeriodType, latest_complete_period
from stakeholders.models import COMMISSIONER_TYPES, Area, AreaLevel, Role, User


class Drafted(StrEnum):
    CREATED = "created"  # a new draft
    REFRESHED = "refreshed"  # an untouched draft read again from the data
    KEPT = "kept"  # edited by a person, or published: left as it is


@dataclass(frozen=True)
class DraftResult:
    story: Story
    outcome: Drafted


def last_complete_quarter(today: dt.date | None = None) -> dt.date:
    """The first day of the last financial quarter that has ended (quarters start in April, July, October, January)."""
    return latest_complete_period(PeriodType.QUARTER, today or timezone.localdate())


def story_areas() -> list[Area]:
    """London first, then the boroughs by name: every area a story is drafted for."""
    return sorted(
        Area.objects.filter(level__in=[AreaLevel.LONDON, AreaLevel.BOROUGH]),
        key=lambda a: (a.level != AreaLevel.LONDON, a.name),
    )


# Who is told ----------------------------------------------------------------------------------


def editors(area: Area) -> list[User]:
    """Active commissioners who may edit the area's story (staff are not told: they edit everything)."""
    people = User.objects.filter(
        is_active=True,
        memberships__role=Role.COMMISSIONER,
        memberships__organisation__type__in=list(COMMISSIONER_TYPES),
    )
    if area.level != AreaLevel.LONDON:
        people = people.filter(memberships__organisation__boroughs=area)
    return list(people.distinct().order_by("pk"))


def followers(area: Area) -> list[User]:
    """Active followers of the public plans covering the area (compose._plans_covering)."""
    plans = compose._plans_covering(area)
    return list(
        User.objects.filter(is_active=True, pk__in=Follow.objects.filter(plan__in=plans).values("user_id"))
        .distinct()
        .order_by("pk")
    )


def _tell(users: Iterable[User], *, actor: User | None, text: str, story: Story, key: str) -> int:
    told = 0
    for user in users:
        if actor is not None and user.pk == actor.pk:
            continue
        made = notification_services.notify(
            recipient=user,
            kind=NotificationKind.STORY,
            text=text,
            url=story.get_absolute_url(),
            dedupe_key=f"story-{key}-{story.pk}",
        )
        told += made is not None
    return told


# Drafting -------------------------------------------------------------------------------------


def _composed(area: Area, quarter_start: dt.date) -> dict:
    facts = compose.gather(area, quarter_start)
    return {
        "title": compose.title_for(facts),
        "body": compose.compose_body(facts),
        "easy_read": compose.compose_easy_read(facts),
        "sources": facts.sources(),
    }


@records_actor
@transaction.atomic
def story_draft(*, actor: User | None, area: Area, quarter_start: dt.date) -> DraftResult:
    """Draft the area's story of the quarter from the data, idempotently.

    No story yet: one is created as a draft, and its editors are told. An untouched draft (no
    person has edited it) is read again from the data, so a late approval or decision is
    included. A draft a person has edited, and a published story, are kept exactly as they are.
    Assumes the actor may edit the area's story (permissions.can_edit_area) or is the system
    (actor None: the quarterly job). Safe to run twice, or concurrently: one row per area and
    quarter (a unique constraint), locked while it is read again.
    """
    if area.level not in (AreaLevel.LONDON, AreaLevel.BOROUGH):
        raise ValidationError({"area": "Stories are told for London and for each borough."})
    if quarter_start.day != 1 or quarter_start.month not in (1, 4, 7, 10):
        raise ValidationError({"quarter": "Choose a quarter."})
    if quarter_start > last_complete_quarter():
        raise ValidationError({"quarter": "A story is told once its quarter has ended."})
    existing = Story.objects.select_for_update().filter(area=area, quarter_start=quarter_start).first()
    if existing is not None:
        if existing.edited or existing.status != StoryStatus.DRAFT:
            return DraftResult(existing, Drafted.KEPT)
        composed = _composed(area, quarter_start)
        if any(getattr(existing, name) != value for name, value in composed.items()):
            # Written only when the data says something new, so a re-run leaves no empty history.
            values = {**composed, "drafted_at": timezone.now(), "updated_at": timezone.now()}
            update_versioned(existing, expected_version=existing.version, values=values)
        return DraftResult(existing, Drafted.REFRESHED)
    story = Story(area=area, quarter_start=quarter_start, **_composed(area, quarter_start))
    story.full_clean()
    try:
        with transaction.atomic():
            story.save()
    except IntegrityError:
        # Another worker drafted it between our read and our write: theirs stands.
        return DraftResult(Story.objects.get(area=area, quarter_start=quarter_start), Drafted.KEPT)
    _tell(
        editors(area),
        actor=actor,
        text=f"A draft of {story.title} is ready for you to check and publish.",
        story=story,
        key="draft",
    )
    return DraftResult(story, Drafted.CREATED)


def stories_draft(
    *,
    actor: User | None,
    quarter_start: dt.date,
    areas: Iterable[Area] | None = None,
    progress: Callable[[int, int, DraftResult], None] | None = None,
) -> dict[str, int]:
    """Draft the quarter's story for each area (every area by default), one transaction each.

    Returns how many were created, refreshed and kept; `progress(done, total, result)` is called
    after each area (the management command and the task report it).
    """
    chosen = list(areas) if areas is not None else story_areas()
    counts = {outcome.value: 0 for outcome in Drafted}
    for done, area in enumerate(chosen, start=1):
        result = story_draft(actor=actor, area=area, quarter_start=quarter_start)
        counts[result.outcome.value] += 1
        if progress is not None:
            progress(done, len(chosen), result)
    return counts


# Editing and publishing -----------------------------------------------------------------------

EDIT_FIELDS = ("title", "body", "easy_read")


@records_actor
@transaction.atomic
def story_update(*, actor: User, story: Story, expected_version: int, title: str, body: str, easy_read: str) -> Story:
    """Change a story's text if it is still at `expected_version` (else StaleEdit; nothing written).

    Permission (checked here, as the pages and the API share it): permissions.can_edit_story.
    An edited draft is never replaced by a new draft from the data.
    """
    if not permissions.can_edit_story(actor, story):
        raise PermissionDenied("Only the area's commissioners may edit its story.")
    current = Story.objects.get(pk=story.pk)
    if current.version != expected_version:
        raise StaleEdit(current, expected_version)
    values = {
        "title": " ".join(title.split()),
        "body": body.strip().replace("\r\n", "\n") + "\n",
        "easy_read": "\n".join(line.strip() for line in easy_read.replace("\r\n", "\n").splitlines() if line.strip())
        + "\n",
        "edited": True,
        "edited_by": actor,
        "updated_at": timezone.now(),
    }
    errors = {}
    if not values["title"]:
        errors["title"] = "Enter a title."
    if not values["body"].strip():
        errors["body"] = "Enter the story."
    if not values["easy_read"].strip():
        errors["easy_read"] = "Enter the Easy Read version: short sentences, one idea a line."
    if errors:
        raise ValidationError(errors)
    for name, value in values.items():
        setattr(current, name, value)
    current.full_clean(exclude=["version"])
    update_versioned(story, expected_version=expected_version, values=values)
    return story


@records_actor
@transaction.atomic
def story_publish(*, actor: User, story: Story, expected_version: int) -> Story:
    """Publish a draft (with its Easy Read version) if it is still at `expected_version`.

    Permission (checked here): permissions.can_edit_story. A published story stays published;
    publishing it again is refused. Tells the followers of the area's public plans.
    """
    if not permissions.can_edit_story(actor, story):
        raise PermissionDenied("Only the area's commissioners may publish its story.")
    current = Story.objects.get(pk=story.pk)
    if current.version != expected_version:
        raise StaleEdit(current, expected_version)
    if current.status == StoryStatus.PUBLISHED:
        raise ValidationError("This story is already published.")
    if not current.easy_read.strip():
        raise ValidationError({"easy_read": "Write the Easy Read version before publishing."})
    now = timezone.now()
    update_versioned(
        story,
        expected_version=expected_version,
        values={"status": StoryStatus.PUBLISHED, "published_at": now, "published_by": actor, "updated_at": now},
    )
    _tell(
        followers(story.area),
        actor=actor,
        text=f"{story.title} is published: what changed, in plain words.",
        story=story,
        key="published",
    )
    return story


__all__ = [
    "DraftResult",
    "Drafted",
    "last_complete_quarter",
    "stories_draft",
    "story_draft",
    "story_publish",
    "story_update",
]
