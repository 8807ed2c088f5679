"""Every write about indicators, populations, submissions and the review of outcome values."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from kernel.history import records_actor
from outcomes import ingest, permissions
from outcomes.aggregation import metrics_changed
from outcomes.breakdowns import NOT_KNOWN, Breakdown, groups_for, parse_age_band
from outcomes.models import (
    REVIEW_TRANSITIONS,
    Door,
    Indicator,
    IssueCode,
    Measure,
    Metric,
    OutcomeValue,
    Population,
    PriorityArea,
    Submission,
    TrialFile,
    ValueStatus,
)
from stakeholders.models import COMMISSIONER_TYPES, Area, AreaLevel, Organisation, Role, User

logger = logging.getLogger(__name__)

# Every review is handed to these, in the reviewing transaction, as keyword arguments actor,
# status, message and value_ids (commissioning.queries opens threads and tells the providers).
values_reviewed_hooks: list[Any] = []
# A submission that wrote new or changed values is handed to these (keyword arguments submission
# and written, how many values it wrote in each borough by id), in its writing transaction:
# commissioning.queries tells the reviewing commissioners.
submission_written_hooks: list[Any] = []


def _cells_changed(cells: list[tuple[int, str]]) -> None:
    """Enqueue the metrics recompute of the (indicator id, period iso) cells a write changed, on commit."""
    if not cells:
        return
    from outcomes.tasks import metrics_recompute  # the tasks module imports this one

    payload = [[indicator_id, period] for indicator_id, period in cells]
    transaction.on_commit(lambda: metrics_recompute.delay(payload))


# Indicators ------------------------------------------------------------------------------


@records_actor
@transaction.atomic
def indicator_save(*, actor: User, indicator: Indicator) -> Indicator:
    """Create or change a catalogue entry. Permission: catalogue managers. History by pghistory."""
    if not permissions.can_manage_catalogue(actor):
        raise PermissionDenied
    indicator.full_clean()
    indicator.save()
    metrics_changed()  # names, polarity and the active list show on cached dashboards
    return indicator


# Priority areas ---------------------------------------------------------------------------


@records_actor
@transaction.atomic
def priority_area_save(
    *, actor: User, area: PriorityArea, indicators: Iterable[Indicator] | None = None
) -> PriorityArea:
    """Create or change a priority area, and optionally the indicators that measure it.

    Permission: staff (``can_manage_priority_areas``). History by pghistory, with the actor from
    the request's context. The dashboards group indicators by priority area, so their cache is
    refreshed.
    """
    if not permissions.can_manage_priority_areas(actor):
        raise PermissionDenied
    area.full_clean()
    area.save()
    if indicators is not None:
        area.indicators.set(list(indicators))
    metrics_changed()
    return area


# Populations ------------------------------------------------------------------------------


@records_actor
@transaction.atomic
def populations_import_csv(*, actor: User, stream: IO[bytes]) -> int:
    """Replace populations from a CSV with columns area_code, year, population and, optionally,
    breakdown and group (both or neither; blank for all people): the denominators of rates by
    group. All or nothing.

    Permission: staff. Raises ValidationError listing every bad row.
    """
    if not permissions.can_manage_populations(actor):
        raise PermissionDenied
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        reader = csv.DictReader(text)
        names = {(name or "").strip().lower() for name in reader.fieldnames or []}
        if not names >= {"area_code", "year", "population"}:
            raise ValidationError("The file must have the columns area_code, year and population.")
        if len(names & {"breakdown", "group"}) == 1:
            raise ValidationError("The columns breakdown and group go together: give both, or neither.")
        reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames or []]
        areas = dict(Area.objects.values_list("code", "pk"))
        rows, errors = [], []
        for number, row in enumerate(reader, start=2):
            code = (row.get("area_code") or "").strip().upper()
            year = (row.get("year") or "").strip()
            population = (row.get("population") or "").strip().replace(",", "")
            breakdown = (row.get("breakdown") or "").strip().lower()
            group = (row.get("group") or "").strip().lower()
            group_problem = _population_group_problem(breakdown, group)
            if group_problem:
                errors.append(f"Row {number}: {group_problem}")
            elif code not in areas:
                errors.append(f"Row {number}: '{code}' is not a London area code.")
            elif not (year.isdigit() and 1990 <= int(year) <= 2100):
                errors.append(f"Row {number}: '{year}' is not a year.")
            elif not (population.isdigit() and int(population) > 0):
                errors.append(f"Row {number}: '{population}' is not a positive whole number.")
            else:
                rows.append(
                    Population(
                        area_id=areas[code],
                        year=int(year),
                        breakdown=breakdown,
                        population_group=group,
                        population=int(population),
                        source="upload",
                    )
                )
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text. Save it as 'CSV UTF-8'.") from None
    if errors:
        raise ValidationError(errors)
    if not rows:
        raise ValidationError("The file has no rows.")
    Population.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["area", "year", "breakdown", "population_group"],
        update_fields=["population", "source", "updated_at"],
    )
    # Rates are per 100,000 of the population: every rate cell is recomputed (on commit, in the
    # background). Which population a period uses is the nearest year's, so any change may move any.
    _cells_changed(_rate_cells())
    return len(rows)


def _rate_cells() -> list[tuple[int, str]]:
    """Every (indicator, period) of a rate indicator with figures: London's rows, one per cell."""
    london = Area.objects.filter(level=AreaLevel.LONDON)
    cells = (
        Metric.objects.of_basis(Metric.Basis.PROVISIONAL)
        .filter(indicator__measure=Measure.RATE, area__in=london)
        .order_by()
        .values_list("indicator_id", "period_start")
    )
    return [(indicator_id, period.isoformat()) for indicator_id, period in cells]


@transaction.atomic
def _population_group_problem(breakdown: str, group: str) -> str:
    """Why a population row's breakdown and group name no group, or "" (both blank: all people)."""
    if not breakdown and not group:
        return ""
    if not breakdown:
        return f"the group '{group[:40]}' has no breakdown (ethnicity, age, sex or deprivation)."
    if breakdown not in Breakdown.values:
        return f"'{breakdown[:40]}' is not a breakdown: use ethnicity, age, sex or deprivation."
    if not group:
        return f"the breakdown '{breakdown}' has no group."
    if breakdown == Breakdown.AGE:
        if group == NOT_KNOWN or parse_age_band(group) is None:
            return f"'{group[:40]}' is not an age band: write 18-24 or 65+."
        return ""
    known = [code for code, _ in groups_for(breakdown) if code != NOT_KNOWN]
    if group not in known:
        return f"'{group[:40]}' is not a {breakdown} group with a population: use one of {', '.join(known)}."
    return ""


def populations_seed_from_census(*, year: int = 2021) -> int:
    """Populations from the reference Census 2021 figures stored on the areas (for demo rates).

    Any new population may give a rate its denominator: the rate cells are recomputed on commit.
    """
    rows = [
        Population(area=area, year=year, population=area.population, source="Census 2021 (rounded)")
        for area in Area.objects.exclude(population=None)
    ]
    Population.objects.bulk_create(rows, ignore_conflicts=True)
    _cells_changed(_rate_cells())
    return len(rows)


# Submissions ------------------------------------------------------------------------------


@records_actor
def submission_create(
    *,
    actor: User,
    organisation: Organisation,
    door: str,
    stream: IO[bytes] | None = None,
    rows: Iterable[dict[str, Any]] | None = None,
    filename: str = "",
    dry_run: bool = False,
    atomic: bool = False,
    amend_approved: bool = False,
    run_inline: bool | None = None,
    keep_file: bool = False,
    trial_of: Submission | None = None,
) -> Submission:
    """Record a submission, stage its rows, and validate and write them (inline or in Celery).

    Permission: the actor submits for `organisation` (data submitter there); rows naming
    other organisations are checked per row. Side effects: outcome values upserted; the
    touched (indicator, period) cells enqueued for the metrics recompute on commit; for large
    submissions a Celery task `outcomes.tasks.submission_process` enqueued on commit.
    With `keep_file` a trial run of a (rewindable) file keeps its bytes as a TrialFile, so
    that `submission_submit_trial` can submit the same file; `trial_of` records that link.
    """
    if not permissions.can_submit_for(actor, organisation):
        raise PermissionDenied
    if (stream is None) == (rows is None):
        raise ValueError("Give exactly one of stream or rows.")
    submission = Submission.objects.create(
        organisation=organisation,
        submitted_by=actor,
        door=door,
        filename=filename[:255],
        dry_run=dry_run,
        atomic=atomic,
        amend_approved=amend_approved,
        trial_of=trial_of,
        status=Submission.Status.QUEUED,
        started_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            staged = (
                ingest.stage_csv(submission, stream)
                if stream is not None
                else ingest.stage_rows(submission, rows or [])
            )
    except ingest.FileRejected as problem:
        ingest.drop_staging(submission.pk)
        ingest.record_file_problem(submission, problem)
        submission_move(
            submission_id=submission.pk,
            to=Submission.Status.REJECTED,
            message=problem.message,
            finished_at=timezone.now(),
        )
        submission.refresh_from_db(fields=["status", "message", "finished_at"])
        return submission
    except Exception:
        # An unexpected failure while staging: record it as failed (never leave it queued).
        logger.exception("staging submission %s failed", submission.pk)
        submission_mark_failed(submission_id=submission.pk, reason="The file could not be read; nothing was saved.")
        raise
    submission.total_rows = staged.total_rows
    submission.size_bytes = staged.size_bytes
    submission.checksum = staged.checksum
    submission.save(update_fields=["total_rows", "size_bytes", "checksum"])
    ingest.record_warnings(submission, staged.warnings)
    if keep_file and dry_run and stream is not None:
        _trial_file_keep(submission, stream)
    inline = run_inline if run_inline is not None else staged.total_rows <= settings.OUTCOMES_ASYNC_ROWS
    if inline:
        try:
            submission_process(submission_id=submission.pk)
        except Exception:
            # Nothing was written (the write transaction rolled back); say so rather than a 500.
            logger.exception("submission %s failed", submission.pk)
            submission_mark_failed(
                submission_id=submission.pk, reason="The import failed unexpectedly and nothing was saved."
            )
        submission.refresh_from_db()
    else:
        from outcomes.tasks import submission_process as task

        transaction.on_commit(lambda: task.delay(submission.pk))
    return submission


def _trial_file_keep(submission: Submission, stream: IO[bytes]) -> None:
    """Keep a trial run's bytes (and forget trial files past OUTCOMES_TRIAL_KEEP_HOURS)."""
    TrialFile.objects.filter(
        created_at__lt=timezone.now() - dt.timedelta(hours=settings.OUTCOMES_TRIAL_KEEP_HOURS)
    ).delete()
    stream.seek(0)
    TrialFile.objects.create(submission=submission, content=stream.read())


def trial_is_submittable(trial: Submission) -> bool:
    """A finished, clean trial run of a file (no row rejected) whose stored file is still there."""
    return (
        trial.dry_run
        and trial.door == Door.CSV
        and trial.status == Submission.Status.COMPLETED
        and trial.rejected_count == 0
        and TrialFile.objects.filter(
            submission=trial,
            created_at__gte=timezone.now() - dt.timedelta(hours=settings.OUTCOMES_TRIAL_KEEP_HOURS),
        ).exists()
    )


@records_actor
def submission_submit_trial(*, actor: User, trial: Submission) -> Submission:
    """Submit for real the very file a clean trial run checked: one button, no second upload.

    Permission: the trial's own submitter, still a data submitter for its organisation
    (permissions.can_submit_trial), else PermissionDenied. The trial must be a finished CSV
    trial run with no row rejected whose file is kept (OUTCOMES_TRIAL_KEEP_HOURS), else a
    ValidationError. The stored file is taken under a row lock and deleted, so two clicks (or
    two tabs) submit it once. The new submission has the trial's options and is validated
    again in full: values changed since the trial are judged as they are now. Side effects:
    those of submission_create.
    """
    if not permissions.can_submit_trial(actor, trial):
        raise PermissionDenied
    if not (trial.dry_run and trial.door == Door.CSV):
        raise ValidationError("Only a trial run of a CSV file can be submitted this way.", code="not_trial")
    if trial.status != Submission.Status.COMPLETED or trial.rejected_count:
        raise ValidationError(
            "This trial run found errors: correct the file and upload it again.", code="trial_not_clean"
        )
    cutoff = timezone.now() - dt.timedelta(hours=settings.OUTCOMES_TRIAL_KEEP_HOURS)
    content = None
    with transaction.atomic():
        stored = TrialFile.objects.select_for_update().filter(submission=trial).first()
        if stored is not None:
            if stored.created_at >= cutoff:
                content = bytes(stored.content)
            stored.delete()  # used now, or expired: either way never again
    if content is None:
        raise ValidationError(
            "This trial run's file has already been submitted or is no longer kept "
            f"(files are kept for {settings.OUTCOMES_TRIAL_KEEP_HOURS} hours). Upload the file again.",
            code="trial_stale",
        )
    return submission_create(
        actor=actor,
        organisation=trial.organisation,
        door=Door.CSV,
        stream=io.BytesIO(content),
        filename=trial.filename,
        atomic=trial.atomic,
        amend_approved=trial.amend_approved,
        trial_of=trial,
    )


# A submission's life: from each status, the statuses it may move to. The finished three are
# final; "running" again is a re-delivered task starting over from the staged rows.
_Status = Submission.Status
SUBMISSION_TRANSITIONS: dict[str, frozenset[str]] = {
    _Status.QUEUED: frozenset({_Status.RUNNING, _Status.REJECTED, _Status.FAILED}),
    _Status.RUNNING: frozenset({_Status.RUNNING, _Status.COMPLETED, _Status.REJECTED, _Status.FAILED}),
    _Status.COMPLETED: frozenset(),
    _Status.REJECTED: frozenset(),
    _Status.FAILED: frozenset(),
}


def submission_move(*, submission_id: int, to: str, **fields: Any) -> bool:
    """The one way a submission's status changes: to `to`, with `fields`, if the table allows it.

    A compare-and-set on the statuses SUBMISSION_TRANSITIONS lets reach `to`, so a finished
    submission is never reopened and two workers cannot both finish one. Whether it moved.
    """
    sources = [source for source, targets in SUBMISSION_TRANSITIONS.items() if to in targets]
    return bool(Submission.objects.filter(pk=submission_id, status__in=sources).update(status=to, **fields))


def submission_process(*, submission_id: int) -> Submission | None:
    """Validate and write a staged submission, once (idempotent: a finished one is left alone).

    Called inline for small submissions and by the Celery task for large ones. A short
    transaction first marks it running (so progress pages see it); then everything is
    written in one transaction holding the submission's row lock, so a worker killed half
    way leaves no values, the re-delivered task starts again from the staged rows, and two
    deliveries never run at once.
    """
    with transaction.atomic():
        claimed = Submission.objects.select_for_update(skip_locked=True).filter(pk=submission_id).first()
        if claimed is None or claimed.is_finished:
            return claimed or Submission.objects.filter(pk=submission_id).first()
        submission_move(submission_id=submission_id, to=Submission.Status.RUNNING, processed_rows=0)
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update().select_related("organisation", "submitted_by").get(pk=submission_id)
        )
        if submission.is_finished:  # another delivery finished it while we waited for the lock
            return submission
        # A re-delivered run starts clean: only the staging warnings (the header's) are kept.
        staging_warnings = submission.issues.filter(code=IssueCode.COLUMN_IGNORED, severity="warning")
        submission.issues.exclude(pk__in=staging_warnings.values("pk")).delete()
        allowed = list(permissions.submitting_organisations(submission.submitted_by).values_list("pk", flat=True))
        counts = ingest.validate_and_write(submission, allowed, submission.organisation.slug)
        if submission.atomic and counts.rejected:
            status = Submission.Status.REJECTED
            message = f"{counts.rejected:,} row(s) have errors, so nothing was imported (all-or-nothing submission)."
        else:
            status = Submission.Status.COMPLETED
            verb = "would be" if submission.dry_run else "were"
            message = ("Trial run: nothing was saved. " if submission.dry_run else "") + (
                f"{counts.created:,} new, {counts.updated:,} changed and {counts.unchanged:,} unchanged values "
                f"{verb} imported; {counts.rejected:,} row(s) rejected."
            )
        finished = {
            "created_count": counts.created,
            "updated_count": counts.updated,
            "unchanged_count": counts.unchanged,
            "rejected_count": counts.rejected,
            "warning_count": counts.warnings + staging_warnings.count(),
            "processed_rows": submission.total_rows,
            "finished_at": timezone.now(),
            "message": message,
        }
        submission_move(submission_id=submission.pk, to=status, **finished)
        for name, value in {**finished, "status": status}.items():
            setattr(submission, name, value)
        _cells_changed(counts.cells)
        if submission.status == Submission.Status.COMPLETED and (counts.created or counts.updated):
            for hook in submission_written_hooks:
                hook(submission=submission, written=counts.by_borough)
        ingest.drop_work_tables()
        ingest.drop_staging(submission.pk)
    return submission


def submissions_requeue_lost(*, now: dt.datetime | None = None) -> list[int]:
    """Enqueue again the submissions whose task was lost; the ids enqueued. Run by beat.

    A submission still "queued" OUTCOMES_REQUEUE_AFTER_MINUTES after it was queued has lost
    its task (a live queue starts it within seconds; a running one is "running"). Each is
    claimed by a compare-and-set on its ``started_at`` (the time it was queued, or last
    re-enqueued), so of two sweeps at once exactly one enqueues it, and it is enqueued
    again only if it is still queued another OUTCOMES_REQUEUE_AFTER_MINUTES later. A
    duplicate delivery would be harmless anyway (``submission_process`` is idempotent).
    """
    from outcomes.tasks import submission_process as task

    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.OUTCOMES_REQUEUE_AFTER_MINUTES)
    stale = list(
        Submission.objects.filter(status=Submission.Status.QUEUED, started_at__lt=cutoff).values_list(
            "pk", "started_at"
        )
    )
    enqueued = []
    for pk, queued_at in stale:
        claimed = Submission.objects.filter(pk=pk, status=Submission.Status.QUEUED, started_at=queued_at).update(
            started_at=now
        )
        if claimed:
            logger.warning("submission %s was still queued after its task was lost: enqueued again", pk)
            task.delay(pk)
            enqueued.append(pk)
    return enqueued


def submission_mark_failed(*, submission_id: int, reason: str) -> None:
    submission_move(
        submission_id=submission_id, to=Submission.Status.FAILED, message=reason[:2000], finished_at=timezone.now()
    )
    ingest.drop_staging(submission_id)


# Review -------------------------------------------------------------------------------


@records_actor
@transaction.atomic
def outcome_values_review(*, actor: User, value_ids: list[int], status: str, message: str = "") -> int:
    """Approve, query or reject values, in bulk. Returns how many changed.

    Permission: commissioners for the values' boroughs (others' ids are ignored as not found).
    Only allowed transitions happen (REVIEW_TRANSITIONS): the first decision on a value stands,
    whichever of a borough's commissioning organisations makes it. A query or a rejection needs
    a reason for the provider. The value records who reviewed it, when, and for which of their
    commissioning organisations. Side effects: approvals hand the touched cells to the
    aggregation hook; every review goes to `values_reviewed_hooks` (query threads open, and the
    providers' data submitters are told).
    """
    if status not in (ValueStatus.APPROVED, ValueStatus.QUERIED, ValueStatus.REJECTED):
        raise ValidationError({"status": "Choose approve, query or reject."})
    message = message.strip()
    if status == ValueStatus.QUERIED and not message:
        raise ValidationError({"message": "Say what the provider should check."})
    if status == ValueStatus.REJECTED and not message:
        raise ValidationError({"message": "Say why the values are rejected, so the provider can put them right."})
    allowed_from = [s for s, targets in REVIEW_TRANSITIONS.items() if status in targets]
    values = (
        permissions.reviewable_values(actor)
        .filter(pk__in=value_ids, status__in=allowed_from)
        .select_for_update(of=("self",))
    )
    rows = list(values.values_list("pk", "indicator_id", "period_start", "organisation_id", "borough_id"))
    if not rows:
        return 0
    cells = sorted({(indicator, period.isoformat()) for _, indicator, period, _, _ in rows})
    acting_for = (
        Organisation.objects.filter(
            memberships__user=actor,
            memberships__role=Role.COMMISSIONER,
            type__in=list(COMMISSIONER_TYPES),
            boroughs=OuterRef("borough_id"),
        )
        .order_by("name", "pk")
        .values("pk")[:1]
    )
    changed = OutcomeValue.objects.filter(pk__in=[row[0] for row in rows]).update(
        status=status,
        query_message=message if status != ValueStatus.APPROVED else "",
        reviewed_by=actor,
        reviewed_at=timezone.now(),
        reviewed_for=Subquery(acting_for),
    )
    _cells_changed(cells)
    for hook in values_reviewed_hooks:
        hook(actor=actor, status=status, message=message, value_ids=[row[0] for row in rows])
    return changed
