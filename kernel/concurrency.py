"""Optimistic concurrency for versioned records (plans, actions, contracts, measures).

A versioned model carries an integer ``version``. Every write says which version it
was based on; the write is a compare-and-set ``UPDATE ... WHERE version = expected``
that bumps the version, so of two people saving from the same version exactly one
wins and the other gets :class:`StaleEdit` (never a silent overwrite).

Browser forms carry the version in a hidden field; on :class:`StaleEdit` the view
shows the conflict page (``templates/includes/conflict.html``) built from
:func:`conflict_rows`. API writes carry the version in ``If-Match`` with the ETag
from a GET: :func:`expected_version_from_request` answers 428 when it is missing and
412 when it does not parse; a stale version becomes 412 via :class:`StaleEdit`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import models, transaction
from django.db.models import F
from django.http import Http404
from django.utils.text import capfirst
from rest_framework import exceptions, status


class Versioned(models.Model):
    """Abstract base: a version number bumped by every successful write."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


class StaleEdit(Exception):
    """The record changed since the version the writer started from."""

    def __init__(self, current: models.Model, expected_version: int) -> None:
        self.current = current
        self.expected_version = expected_version
        super().__init__(
            # Not "by someone else": it may be the same person's save from another tab or client.
            f"{capfirst(current._meta.verbose_name)} has changed since you loaded it "
            f"(you edited version {expected_version}, it is now version {current.version})."
        )


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = "This write needs an If-Match header with the ETag from your last GET of this resource."
    default_code = "precondition-required"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since your ETag; GET it again and re-apply your change."
    default_code = "precondition-failed"


def update_versioned(instance: Versioned, *, expected_version: int, values: Mapping[str, Any]) -> Versioned:
    """Write ``values`` to ``instance`` if it is still at ``expected_version``; bump the version.

    One compare-and-set UPDATE, so it is safe under concurrent writers without holding
    locks across the user's think time. Raises StaleEdit (with the current row) when
    another write got there first. Callers validate (``full_clean``) before calling.
    Returns the refreshed instance.
    """
    model = type(instance)
    updated = model._default_manager.filter(pk=instance.pk, version=expected_version).update(
        **values, version=F("version") + 1
    )
    if not updated:
        raise _stale_or_gone(instance, expected_version)
    for name, value in values.items():
        setattr(instance, name, value)
    instance.version = expected_version + 1
    return instance


def delete_versioned(instance: Versioned, *, expected_version: int) -> None:
    """Delete ``instance`` if it is still at ``expected_version``; StaleEdit or 404 otherwise.

    The version is checked by the statement that takes the row lock
    (``SELECT ... WHERE id = %s AND version = %s FOR UPDATE``), so no write can slip in
    between the check and the DELETE: a concurrent update either committed first (the
    row no longer matches, StaleEdit) or waits for the DELETE and then finds nothing
    (404). Django's ``QuerySet.delete()`` alone would select the rows and delete them by
    id in a later statement, which let an acknowledged update be deleted unseen.
    """
    model = type(instance)
    with transaction.atomic():
        locked = (
            model._default_manager.select_for_update()
            .filter(pk=instance.pk, version=expected_version)
            .values_list("pk", flat=True)
            .first()
        )
        if locked is None:
            raise _stale_or_gone(instance, expected_version)
        model._default_manager.filter(pk=instance.pk).delete()


class Gone(Http404):
    """The record was deleted while the writer was working on it (answered 404)."""


def _stale_or_gone(instance: Versioned, expected_version: int) -> Exception:
    """Why a compare-and-set matched no row: someone saved it (StaleEdit) or deleted it (Gone)."""
    current = type(instance)._default_manager.filter(pk=instance.pk).first()
    if current is None:
        return Gone(f"{instance._meta.verbose_name} no longer exists: someone deleted it.")
    return StaleEdit(current, expected_version)


def etag_for(instance: Versioned) -> str:
    """The strong ETag of a versioned record's representation."""
    return f'"v{instance.version}"'


def expected_version_from_request(request) -> int:
    """The version an API write is based on, from its If-Match header (428 if absent, 412 if unusable)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired()
    tag = header.split(",")[0].strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if not tag.startswith("v") or not tag[1:].isdigit():
        raise PreconditionFailed('If-Match does not hold an ETag this API issued (they look like "v3").')
    return int(tag[1:])


def raise_precondition_failed(exc: StaleEdit) -> None:
    """Turn a StaleEdit in an API view into 412 with the current ETag in the message."""
    raise PreconditionFailed(f"{exc} The current ETag is {etag_for(exc.current)}.") from exc


@dataclass(frozen=True)
class ConflictRow:
    label: str
    yours: str
    theirs: str
    differs: bool


def conflict_rows(form, current: models.Model, fields: Iterable[str] | None = None) -> list[ConflictRow]:
    """Side-by-side rows for the conflict page: your submitted value against the stored one.

    ``form`` is the bound form the user submitted (its ``cleaned_data`` when valid, else raw
    data); ``current`` is the record as it is now. A choice shows its label ("At risk"),
    not the code stored for it ("at_risk"), on both sides.
    """
    data = getattr(form, "cleaned_data", None) or {}
    rows = []
    for name in fields or form.fields:
        if name == "version":
            continue
        field = form.fields[name]
        yours = data.get(name, form.data.get(form.add_prefix(name), ""))
        theirs = getattr(current, name, "")
        if hasattr(theirs, "all"):  # many-to-many manager
            theirs = list(theirs.all())
        labels = _choice_labels(field)
        if labels:
            yours, theirs = _labelled(yours, labels), _labelled(theirs, labels)
        rows.append(
            ConflictRow(
                label=str(field.label or name.replace("_", " ").capitalize()),
                yours=_display(yours),
                theirs=_display(theirs),
                differs=_display(yours) != _display(theirs),
            )
        )
    return rows


def _choice_labels(field: forms.Field) -> dict[str, str]:
    """Code -> label for a fixed-choice form field; empty for other fields.

    Model choice fields are left out: their values are records, which already read as
    names, and listing their choices would cost a query.
    """
    if not isinstance(field, forms.ChoiceField) or isinstance(field, forms.ModelChoiceField):
        return {}
    labels: dict[str, str] = {}
    for value, label in field.choices:
        if isinstance(label, list | tuple):  # an option group
            labels.update({str(v): str(lab) for v, lab in label})
        else:
            labels[str(value)] = str(label)
    return labels


def _labelled(value: Any, labels: dict[str, str]) -> Any:
    if isinstance(value, list | tuple | set):
        return [labels.get(str(v), v) for v in value]
    if value is None or value == "":
        return value
    return labels.get(str(value), value)


def stale_edit_context(request: Any, current: models.Model, rows: list[ConflictRow]) -> dict[str, Any]:
    """What the stale-edit page (templates/includes/conflict.html) shows beside the form again:
    the side-by-side rows, the record as it is now, and whether the newer save was the user's own."""
    return {"conflict_rows": rows, "current": current, "conflict_by_you": last_change_was_by(current, request.user)}


def last_change_was_by(record: models.Model, user: Any) -> bool:
    """Whether ``user`` made the latest recorded change to ``record``: the stale edit they just
    met was their own save from another window or tab, not someone else's.

    Reads the record's newest django-pghistory event and the user its context names (the
    history middleware and the services put the acting user there). False when the model
    is not tracked or the change names nobody. One query.
    """
    event_model = getattr(type(record), "pgh_event_model", None)
    if event_model is None or not getattr(user, "is_authenticated", False):
        return False
    event = (
        event_model.objects.filter(pgh_obj_id=record.pk)
        .select_related("pgh_context")
        .order_by("-pgh_id")
        .only("pgh_id", "pgh_context__metadata")
        .first()
    )
    context = getattr(event, "pgh_context", None) if event is not None else None
    writer = (context.metadata or {}).get("user") if context is not None else None
    return writer is not None and str(writer) == str(user.pk)


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.date):
        return value.strftime("%-d %B %Y")  # as the forms' date inputs read it, not 2026-05-31
    if isinstance(value, list | tuple | set) or (hasattr(value, "__iter__") and not isinstance(value, str | bytes)):
        return ", ".join(sorted(str(v) for v in value))
    return str(value)


__all__ = [
    "ConflictRow",
    "Gone",
    "PreconditionFailed",
    "PreconditionRequired",
    "StaleEdit",
    "Versioned",
    "conflict_rows",
    "delete_versioned",
    "etag_for",
    "expected_version_from_request",
    "last_change_was_by",
    "raise_precondition_failed",
    "update_versioned",
]


def with_version(data: Any, version: int) -> Any:
    """The person's submitted values on top of the current version, for the conflict page's re-apply."""
    copy = data.copy()
    copy["version"] = str(version)
    return copy
