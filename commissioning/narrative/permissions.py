"""May this user read, edit or publish a quarterly story?

- A published story is public: anyone, signed in or not, reads it, its Easy Read version, its
  print view and the feed.
- A draft is seen only by those who may edit it; to anyone else it does not exist (404).
- Editing and publishing are for commissioners (the commissioner role in an ICB or local
  authority commissioning organisation, stakeholders.COMMISSIONER_TYPES): a borough's story by
  the commissioners of organisations that commission that borough (outcomes.permissions.
  commissioned_boroughs, as for reviewing its data), London's story by any commissioner; and by
  staff. Someone who may read a published story but not edit it gets 403 on the edit pages.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from commissioning.narrative.models import Story, StoryStatus
from commissioning.permissions import AnyUser, access_for
from outcomes.permissions import commissioned_boroughs
from stakeholders.models import Area, AreaLevel
from stakeholders.permissions import require

__all__ = ["can_draft_stories", "can_edit_story", "editable_area_ids", "get_story_or_404", "visible_stories"]


def _borough_ids(user: AnyUser) -> frozenset[int]:
    """Boroughs this user commissions (one query, cached on the user for the request)."""
    cached = getattr(user, "_lmh_story_boroughs", None)
    if cached is None:
        cached = frozenset(commissioned_boroughs(user).values_list("pk", flat=True))
        user._lmh_story_boroughs = cached  # type: ignore[union-attr]
    return cached


def _is_commissioner(user: AnyUser) -> bool:
    return bool(access_for(user).commissioner_orgs)


def can_edit_area(user: AnyUser, area: Area) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    if area.level == AreaLevel.LONDON:
        return _is_commissioner(user)
    return area.level == AreaLevel.BOROUGH and area.pk in _borough_ids(user)


def can_edit_story(user: AnyUser, story: Story) -> bool:
    """Edit the text, publish, and draft it again from the data."""
    return can_edit_area(user, story.area)


def can_draft_stories(user: AnyUser) -> bool:
    """May start drafting now (for the areas they edit): staff and commissioners."""
    return user.is_authenticated and user.is_active and (user.is_staff or _is_commissioner(user))


def editable_areas(user: AnyUser) -> QuerySet[Area]:
    """London and the boroughs whose stories this user edits."""
    if not user.is_authenticated or not user.is_active:
        return Area.objects.none()
    levels = Q(level=AreaLevel.LONDON) | Q(level=AreaLevel.BOROUGH)
    if user.is_staff:
        return Area.objects.filter(levels)
    allowed = Q(pk__in=_borough_ids(user), level=AreaLevel.BOROUGH)
    if _is_commissioner(user):
        allowed |= Q(level=AreaLevel.LONDON)
    return Area.objects.filter(allowed)


def editable_area_ids(user: AnyUser) -> set[int]:
    return set(editable_areas(user).values_list("pk", flat=True))


def visible_q(user: AnyUser) -> Q:
    """Stories this user may read: the published ones, and drafts of the areas they edit."""
    published = Q(status=StoryStatus.PUBLISHED)
    if not user.is_authenticated or not user.is_active:
        return published
    if user.is_staff:
        return Q(pk__isnull=False)
    return published | Q(area__in=editable_areas(user))


def visible_stories(user: AnyUser) -> QuerySet[Story]:
    return Story.objects.filter(visible_q(user))


def get_story_or_404(user: AnyUser, pk: int | str, *, write: bool = False) -> Story:
    """The story: 404 to anyone who may not see it (a draft they do not edit), 403 to a reader asking to write."""
    if not str(pk).isdigit():
        raise Http404
    story = Story.objects.select_related("area", "edited_by", "published_by").filter(pk=int(pk)).first()
    if story is None:
        raise Http404
    editable = can_edit_story(user, story)
    if not story.is_published and not editable:
        raise Http404
    if write:
        require(editable)
    return story
