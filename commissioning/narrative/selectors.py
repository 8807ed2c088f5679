"""Reads for quarterly stories, scoped to the user (commissioning.narrative.permissions)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from pghistory.models import Events

from commissioning.narrative import permissions
from commissioning.narrative.models import Story, StoryStatus
from commissioning.permissions import AnyUser
from kernel.history import history_entries
from stakeholders.models import Area


def story_index(user: AnyUser, *, area: Area | None = None, published_only: bool = False) -> QuerySet[Story]:
    """Stories the user may read, newest quarter first, London before the boroughs."""
    qs = Story.objects.filter(status=StoryStatus.PUBLISHED) if published_only else permissions.visible_stories(user)
    if area is not None:
        qs = qs.filter(area=area)
    return qs.select_related("area").order_by("-quarter_start", "-area__level", "area__name", "pk")


def published_feed() -> QuerySet[Story]:
    return (
        Story.objects.filter(status=StoryStatus.PUBLISHED)
        .select_related("area", "published_by")
        .order_by("-published_at", "-pk")
    )


def story_history(story: Story) -> list[Any]:
    """Readable history (kernel.history): who drafted, edited and published it, and what changed."""
    return history_entries(Events.objects.tracks(story).order_by("-pgh_created_at", "-pgh_id")[:50])
