"""Readable change history from django-pghistory events.

Models tracked with ``@pghistory.track()`` get database triggers, so every write is
recorded, bulk ``update()`` and raw SQL included. ``pghistory.models.Events`` joins the
event tables and computes ``pgh_diff`` (what changed since the previous event of the
same object). This module turns those rows into what a history tab shows: who, when,
what, with field labels and readable values, in a fixed number of queries (the events,
then the people and the related records named in the diffs).

Usage::

    events = Events.objects.tracks(plan, *plan.actions.all()).order_by("-pgh_created_at", "-pgh_id")[:100]
    entries = history_entries(events)

Order by ``pgh_id`` as well: events written in one transaction share ``pgh_created_at``.

Who made a change: every write service is decorated with ``records_actor``, which opens a
``pghistory.context`` naming its ``actor`` argument, so a write names its author whether it
came from a page, the API, a Celery task or a management command (the history middleware
names the signed-in user for requests too; inside a request the two agree).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import pghistory
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone

P = ParamSpec("P")
R = TypeVar("R")


def records_actor(service: Callable[P, R]) -> Callable[P, R]:
    """A write service that names its keyword argument ``actor`` in the history of what it writes.

    Every event the service's writes record carries ``{"user": actor.pk}`` in its context; with
    no actor (a scheduled job acting for nobody) the service runs as it is.
    """

    @functools.wraps(service)
    def write(*args: P.args, **kwargs: P.kwargs) -> R:
        actor = kwargs.get("actor")
        if getattr(actor, "pk", None) is None:
            return service(*args, **kwargs)
        with pghistory.context(user=actor.pk):
            return service(*args, **kwargs)

    return write


# Fields the history tab never shows: bookkeeping that changes with every write.
# A signature's fingerprint (issue 23's commitments) is a 64-character hash: no reader learns from
# it, and as one unbreakable word it would widen the history past a phone's screen.
HIDDEN_FIELDS = frozenset(
    {"id", "version", "created_at", "updated_at", "search_vector", "fingerprint", "cosigned_fingerprint"}
)

LABELS = {"insert": "created", "update": "changed", "delete": "deleted", "deleted": "deleted"}


@dataclass(frozen=True)
class Change:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    when: dt.datetime
    who: str
    what: str  # e.g. "Action"
    object_id: str
    object_repr: str
    verb: str  # created / changed / deleted
    changes: list[Change] = field(default_factory=list)


def history_entries(events: Iterable[Any]) -> list[HistoryEntry]:
    """Readable entries for ``pghistory.models.Events`` rows (newest first as given)."""
    events = list(events)
    user_ids = {str(e.pgh_context.get("user")) for e in events if e.pgh_context and e.pgh_context.get("user")}
    users = {str(u.pk): u for u in get_user_model().objects.filter(pk__in=user_ids)} if user_ids else {}

    # Resolve foreign keys named in the diffs with one query per related model.
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for event in events:
        tracked = _tracked_model(event)
        for name, (old, new) in _diff(event).items():
            fk = _fk(tracked, name)
            if fk is not None:
                wanted[fk.related_model].update(v for v in (old, new) if v is not None)
        name_fk = _name_fk(tracked)
        if name_fk is not None and (event.pgh_data or {}).get(name_fk.attname) is not None:
            wanted[name_fk.related_model].add(event.pgh_data[name_fk.attname])
    related = {
        model: {str(obj.pk): str(obj) for obj in model._default_manager.filter(pk__in=pks)}
        for model, pks in wanted.items()
    }

    entries = []
    for event in events:
        tracked = _tracked_model(event)
        user = users.get(str((event.pgh_context or {}).get("user")))
        data = event.pgh_data or {}
        changes = []
        for name, (old, new) in sorted(_diff(event).items()):
            if name in HIDDEN_FIELDS:
                continue
            changes.append(
                Change(
                    label=_label(tracked, name),
                    old=_value(tracked, name, old, related),
                    new=_value(tracked, name, new, related),
                )
            )
        verb = LABELS.get(event.pgh_label, event.pgh_label)
        if verb == "changed" and not changes:
            continue  # only bookkeeping moved (e.g. the version)
        entries.append(
            HistoryEntry(
                when=event.pgh_created_at,
                who=(user.display_name if hasattr(user, "display_name") else str(user)) if user else "the system",
                what=str(tracked._meta.verbose_name).capitalize() if tracked else event.pgh_obj_model,
                object_id=str(event.pgh_obj_id),
                object_repr=_object_repr(tracked, data, related) or str(event.pgh_obj_id),
                verb=verb,
                changes=changes,
            )
        )
    return entries


def _name_fk(model) -> Any:
    """The foreign key that names a row with no name of its own (``history_name_field`` on the model):
    a linked indicator is named by its indicator, not by its id."""
    name = getattr(model, "history_name_field", None) if model is not None else None
    return _fk(model, name) if name else None


def _object_repr(model, data: dict, related: dict) -> str:
    own = data.get("title") or data.get("name") or data.get("reference")
    if own:
        return str(own)
    fk = _name_fk(model)
    if fk is not None:
        return related.get(fk.related_model, {}).get(str(data.get(fk.attname)), "")
    return ""


def _tracked_model(event) -> type[models.Model] | None:
    try:
        return apps.get_model(event.pgh_obj_model)
    except (LookupError, ValueError):
        return None


def _diff(event) -> dict[str, tuple[Any, Any]]:
    diff = event.pgh_diff or {}
    if not diff and LABELS.get(event.pgh_label) == "created":
        return {k: (None, v) for k, v in (event.pgh_data or {}).items() if v not in (None, "")}
    return {k: (v[0], v[1]) for k, v in diff.items()}


def _model_field(model, name: str):
    if model is None:
        return None
    # A diff names a foreign key by its column ("<fk>_id"); a field may also have been removed since.
    for candidate in (name, name.removesuffix("_id")):
        try:
            return model._meta.get_field(candidate)
        except FieldDoesNotExist:
            continue
    return None


def _fk(model, name: str):
    f = _model_field(model, name)
    return f if isinstance(f, models.ForeignKey) else None


def _label(model, name: str) -> str:
    f = _model_field(model, name)
    return str(f.verbose_name).capitalize() if f is not None else name.replace("_", " ").capitalize()


def _value(model, name: str, value: Any, related: dict) -> str:
    if value is None or value == "":
        return "(empty)"
    f = _model_field(model, name)
    if isinstance(f, models.ForeignKey):
        return related.get(f.related_model, {}).get(str(value), f"#{value}")
    if f is not None and f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(f, models.DateTimeField) and isinstance(value, str):
        # pghistory's diff carries datetimes as ISO text: show them as every page does, in London time.
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return f"{moment.day} {moment:%B %Y} at {moment:%H:%M}"
    if isinstance(f, models.DateField) and isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
        return f"{day.day} {day:%B %Y}"
    return str(value)


__all__ = ["Change", "HistoryEntry", "history_entries"]
