"""The import pipeline (outcomes/ingest.py) through the one service every door calls.

Every IssueCode is produced here or in test_bad_input.py with its row and column; the valid
rows go in and the invalid ones are reported; atomic and dry runs write nothing; re-importing
writes nothing; changes are recorded by pghistory. The clock is fixed on 15 June 2026, so
2026-05 is the latest month that has ended.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from outcomes import services
from outcomes.models import (
    Door,
    Indicator,
    IssueCode,
    Measure,
    OutcomeValue,
    OutcomeValueEvent,
    PeriodType,
    Submission,
    SubmissionIssue,
    ValueStatus,
)
from stakeholders.models import Role
from tests.factories import IndicatorFactory, MembershipFactory

pytestmark = pytest.mark.django_db

CAMDEN, ISLINGTON, LAMBETH = "E09000007", "E09000019", "E09000022"
HEADER = "indicator_code,borough_code,period,numerator,denominator,note,organisation"


@pytest.fixture(autouse=True)
def _mid_june_2026(time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC), tick=False)


def _indicator(code: str, measure: str, period_type: str = PeriodType.MONTH, **extra) -> Indicator:
    return IndicatorFactory(
        code=code,
        name=f"{code} (test)",
        definition="A test indicator.",
        measure=measure,
        period_type=period_type,
        **extra,
    )


@pytest.fixture
def catalogue(db):
    """One indicator of each kind the rules tell apart."""
    return {
        "count": _indicator("test-count", Measure.COUNT),
        "prop": _indicator("test-prop", Measure.PROPORTION),
        "mean": _indicator("test-mean", Measure.MEAN),
        "rate": _indicator("test-rate", Measure.RATE, PeriodType.QUARTER),
        "year": _indicator("test-year", Measure.COUNT, PeriodType.YEAR),
        "retired": _indicator("test-retired", Measure.COUNT, is_active=False),
    }


def submit(actor, organisation, text: str | bytes | None = None, *, rows=None, **options) -> Submission:
    """The service, as the upload page and the API call it."""
    if rows is not None:
        return services.submission_create(actor=actor, organisation=organisation, door=Door.API, rows=rows, **options)
    data = text.encode() if isinstance(text, str) else text
    return services.submission_create(
        actor=actor, organisation=organisation, door=Door.CSV, stream=io.BytesIO(data), **options
    )


def csv_text(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def issues(submission: Submission, severity: str | None = None) -> list[tuple[int | None, str, str]]:
    found = submission.issues.order_by("row_number", "code")
    if severity:
        found = found.filter(severity=severity)
    return list(found.values_list("row_number", "column", "code"))


def staging_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'outcomes_staging_%%' AND relkind = 'r'")
        return [row[0] for row in cursor.fetchall()]


# Every row-level code, with its row and column ---------------------------------------------

# (code, the bad row, the column reported). {other} is another provider's slug.
ROW_CASES = [
    (IssueCode.UNKNOWN_INDICATOR, f"no-such-indicator,{CAMDEN},2026-04,5,,,", "indicator_code"),
    (IssueCode.INACTIVE_INDICATOR, f"test-retired,{CAMDEN},2026-04,5,,,", "indicator_code"),
    (IssueCode.UNKNOWN_BOROUGH, "test-count,E09000099,2026-04,5,,,", "borough_code"),
    (IssueCode.UNKNOWN_ORGANISATION, f"test-count,{CAMDEN},2026-04,5,,,no-such-trust", "organisation"),
    (IssueCode.ORGANISATION_NOT_ALLOWED, f"test-count,{LAMBETH},2026-04,5,,,{{other}}", "organisation"),
    (IssueCode.BOROUGH_NOT_SERVED, f"test-count,{ISLINGTON},2026-04,5,,,", "borough_code"),
    (IssueCode.PERIOD_MALFORMED, f"test-count,{CAMDEN},April 2026,5,,,", "period"),
    (IssueCode.PERIOD_MALFORMED, f"test-count,{CAMDEN},1899-12,5,,,", "period"),
    (IssueCode.PERIOD_WRONG_TYPE, f"test-count,{CAMDEN},2026-Q1,5,,,", "period"),
    (IssueCode.PERIOD_WRONG_TYPE, f"test-rate,{CAMDEN},2026-04,5,,,", "period"),
    (IssueCode.PERIOD_FUTURE, f"test-count,{CAMDEN},2026-06,5,,,", "period"),
    (IssueCode.PERIOD_FUTURE, f"test-rate,{CAMDEN},2026-Q2,5,,,", "period"),
    (IssueCode.PERIOD_FUTURE, f"test-year,{CAMDEN},2026,5,,,", "period"),
    (IssueCode.PERIOD_FUTURE, f"test-count,{CAMDEN},2031-01,5,,,", "period"),
    (IssueCode.NUMERATOR_INVALID, f"test-count,{CAMDEN},2026-04,2.5,,,", "numerator"),
    (IssueCode.NUMERATOR_INVALID, f"test-count,{CAMDEN},2026-04,-3,,,", "numerator"),
    (IssueCode.NUMERATOR_INVALID, f"test-count,{CAMDEN},2026-04,,,,", "numerator"),
    (IssueCode.NUMERATOR_INVALID, f"test-count,{CAMDEN},2026-04,12345678901234,,,", "numerator"),
    (IssueCode.NUMERATOR_INVALID, f"test-mean,{CAMDEN},2026-04,1.23456,10,,", "numerator"),
    (IssueCode.NUMERATOR_INVALID, f"test-mean,{CAMDEN},2026-04,1.,10,,", "numerator"),
    (IssueCode.DENOMINATOR_INVALID, f"test-prop,{CAMDEN},2026-04,5,0,,", "denominator"),
    (IssueCode.DENOMINATOR_INVALID, f"test-prop,{CAMDEN},2026-04,5,12.5,,", "denominator"),
    (IssueCode.DENOMINATOR_MISSING, f"test-prop,{CAMDEN},2026-04,5,,,", "denominator"),
    (IssueCode.DENOMINATOR_MISSING, f"test-mean,{CAMDEN},2026-04,12.5,,,", "denominator"),
    (IssueCode.NUMERATOR_ABOVE_DENOMINATOR, f"test-prop,{CAMDEN},2026-04,50,40,,", "numerator"),
    (IssueCode.NOTE_TOO_LONG, f"test-count,{CAMDEN},2026-04,5,,{'x' * 1001},", "note"),
    (IssueCode.FORMULA, f"test-count,{CAMDEN},2026-04,5,,=SUM(A1),", "note"),
    (IssueCode.FORMULA, f"test-count,{CAMDEN},2026-04,+1,,,", "numerator"),
    (IssueCode.FORMULA, f"@x,{CAMDEN},2026-04,5,,,", "indicator_code"),
    (IssueCode.WRONG_FIELD_COUNT, f"test-count,{CAMDEN},2026-04,5", ""),
]


@pytest.mark.parametrize(("code", "line", "column"), ROW_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(ROW_CASES)])
def test_each_rule_reports_its_code_on_the_right_row_and_column(
    code, line, column, provider, provider_org, other_org, catalogue
):
    # A good row either side, so the bad one is row 3 and the others still go in.
    text = csv_text(
        f"test-count,{CAMDEN},2026-03,7,,,", line.format(other=other_org.slug), f"test-count,{CAMDEN},2026-05,8,,,"
    )
    submission = submit(provider, provider_org, text)

    assert submission.status == Submission.Status.COMPLETED
    assert issues(submission) == [(3, column, code)]
    assert (submission.created_count, submission.rejected_count) == (2, 1)
    assert sorted(OutcomeValue.objects.values_list("period_start", flat=True)) == [
        dt.date(2026, 3, 1),
        dt.date(2026, 5, 1),
    ]
    message = submission.issues.get().message
    assert message and "None" not in message


@pytest.mark.parametrize(
    ("line", "numerator", "denominator"),
    [
        (f"test-mean,{CAMDEN},2026-04,12.25,10,,", Decimal("12.25"), 10),
        (f"test-mean,{CAMDEN},2026-04,7,10,,", Decimal(7), 10),
        (f"test-prop,{CAMDEN},2026-04,40,40,,", Decimal(40), 40),
        (f"test-count,{CAMDEN},2026-04,0,,,", Decimal(0), None),
        (f"test-count,{CAMDEN},2026-04,007,,,", Decimal(7), None),
        (f"test-rate,{CAMDEN},2026-Q1,31,,,", Decimal(31), None),
        (f"test-year,{CAMDEN},2025,1200,,,", Decimal(1200), None),
        ("test-count,e09000007,2026-04,5,,,", Decimal(5), None),
    ],
)
def test_valid_values_of_every_kind_are_stored_typed(line, numerator, denominator, provider, provider_org, catalogue):
    submission = submit(provider, provider_org, csv_text(line))

    assert issues(submission) == []
    value = OutcomeValue.objects.get()
    assert (value.numerator, value.denominator, value.status) == (numerator, denominator, ValueStatus.SUBMITTED)
    assert (value.organisation, value.borough.code, value.submission) == (provider_org, CAMDEN, submission)


def test_a_row_breaking_several_rules_reports_each(provider, provider_org, catalogue):
    submission = submit(provider, provider_org, csv_text(f"test-prop,{ISLINGTON},2026-13,abc,0,,"))

    assert issues(submission) == [
        (2, "borough_code", IssueCode.BOROUGH_NOT_SERVED),
        (2, "denominator", IssueCode.DENOMINATOR_INVALID),
        (2, "numerator", IssueCode.NUMERATOR_INVALID),
        (2, "period", IssueCode.PERIOD_MALFORMED),
    ]


def test_a_key_repeated_in_one_submission_rejects_every_copy(provider, provider_org, catalogue):
    text = csv_text(
        f"test-count,{CAMDEN},2026-04,5,,,",
        f"test-count,{CAMDEN},2026-05,6,,,",
        f"test-count,{CAMDEN},2026-04,9,,,",
    )
    submission = submit(provider, provider_org, text)

    assert issues(submission) == [(2, "", IssueCode.DUPLICATE_KEY), (4, "", IssueCode.DUPLICATE_KEY)]
    assert "appear on 2 rows (first on row 2)" in submission.issues.first().message
    assert list(OutcomeValue.objects.values_list("numerator", flat=True)) == [6]


def test_the_organisation_column_names_who_the_row_is_for(provider, provider_org, catalogue):
    second = MembershipFactory(
        user=provider, role=Role.DATA_SUBMITTER, organisation__boroughs=["LAM"], organisation__slug="second-trust"
    ).organisation
    text = csv_text(f"test-count,{CAMDEN},2026-04,5,,,", f"test-count,{LAMBETH},2026-04,6,,,second-trust")

    submission = submit(provider, provider_org, text)

    assert issues(submission) == []
    assert sorted(OutcomeValue.objects.values_list("organisation__slug", "numerator")) == sorted(
        [(provider_org.slug, 5), (second.slug, 6)]
    )


# Approved values, outliers ----------------------------------------------------------------


@pytest.fixture
def approved(provider, provider_org, catalogue):
    submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2026-04,5,,,"))
    OutcomeValue.objects.update(status=ValueStatus.APPROVED, reviewed_at=timezone.now())
    return OutcomeValue.objects.get()


def test_an_approved_value_is_locked_against_a_new_number(provider, provider_org, approved):
    submission = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2026-04,6,,,"))

    assert issues(submission) == [(2, "", IssueCode.APPROVED_LOCKED)]
    approved.refresh_from_db()
    assert (approved.numerator, approved.status) == (5, ValueStatus.APPROVED)


def test_resubmitting_an_approved_value_unchanged_is_not_an_error(provider, provider_org, approved):
    submission = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2026-04,5,,,"))

    assert (issues(submission), submission.unchanged_count) == ([], 1)


def test_amending_an_approved_value_changes_it_back_to_submitted_and_keeps_history(provider, provider_org, approved):
    submission = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2026-04,6,,,"), amend_approved=True)

    assert (issues(submission), submission.updated_count) == ([], 1)
    approved.refresh_from_db()
    assert (approved.numerator, approved.status, approved.submission) == (6, ValueStatus.SUBMITTED, submission)
    assert approved.reviewed_at is None
    # Each change keeps the version it replaced: approving kept the submitted 5, amending the approved 5.
    assert list(
        OutcomeValueEvent.objects.filter(pgh_obj=approved).order_by("pgh_id").values_list("numerator", "status")
    ) == [(5, ValueStatus.SUBMITTED), (5, ValueStatus.APPROVED)]


@pytest.fixture
def history(provider, provider_org, catalogue):
    """Five steady months for Camden: 10, 11, 10, 12, 11."""
    lines = [f"test-count,{CAMDEN},2025-{m:02d},{n},,," for m, n in zip(range(1, 6), (10, 11, 10, 12, 11), strict=True)]
    submit(provider, provider_org, csv_text(*lines))


@pytest.mark.parametrize("numerator", [100, 0])
def test_an_unusual_value_is_a_warning_not_a_rejection(provider, provider_org, history, numerator):
    submission = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2025-06,{numerator},,,"))

    assert issues(submission, "error") == []
    assert issues(submission, "warning") == [(2, "numerator", IssueCode.OUTLIER)]
    assert (submission.created_count, submission.warning_count) == (1, 1)
    assert "has not been rejected" in submission.issues.get().message
    assert OutcomeValue.objects.filter(period_start=dt.date(2025, 6, 1), numerator=numerator).exists()


def test_an_outlier_warning_says_the_figures_in_the_indicators_unit(provider, provider_org, catalogue):
    months = [
        f"test-prop,{CAMDEN},2025-{m:02d},{n},100,," for m, n in zip(range(1, 6), (20, 21, 20, 22, 21), strict=True)
    ]
    counts = [
        f"test-count,{CAMDEN},2025-{m:02d},{n},,," for m, n in zip(range(1, 6), (10, 11, 10, 12, 11), strict=True)
    ]
    submit(provider, provider_org, csv_text(*months, *counts))

    submission = submit(
        provider,
        provider_org,
        csv_text(f"test-prop,{CAMDEN},2025-06,106,130,,", f"test-count,{CAMDEN},2025-06,1000,,,"),
    )

    messages = sorted(submission.issues.filter(code=IssueCode.OUTLIER).values_list("message", flat=True))
    assert messages[0].startswith("This value (1,000) is unusual for this provider and borough: the usual value is 11.")
    assert messages[1].startswith("This value (81.5%) is unusual") and "the usual value is 21.0%." in messages[1]


def test_a_usual_value_raises_no_warning(provider, provider_org, history):
    submission = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2025-06,12,,,"))

    assert (issues(submission), submission.warning_count) == ([], 0)


def test_a_value_far_from_the_usual_one_is_flagged_even_when_one_old_spike_widens_the_spread(
    provider, provider_org, catalogue
):
    # One spike (1,000) makes the standard deviation about 404, so 20 is well within 3 of them;
    # the median is 11 and the median absolute deviation 1, so its modified z is 0.6745 x 9 = 6.1.
    history = (10, 11, 10, 12, 11, 1000)
    submit(
        provider, provider_org, csv_text(*(f"test-count,{CAMDEN},2025-0{m},{n},,," for m, n in enumerate(history, 1)))
    )

    flagged = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2025-07,20,,,"))
    usual = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2025-08,12,,,"))

    assert issues(flagged, "warning") == [(2, "numerator", IssueCode.OUTLIER)]
    assert "the usual value is 11." in flagged.issues.get().message
    assert issues(usual) == []


def test_outliers_need_four_stored_values(provider, provider_org, catalogue):
    submit(provider, provider_org, csv_text(*(f"test-count,{CAMDEN},2025-0{m},10,,," for m in (1, 2, 3))))

    submission = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2025-06,1000,,,"))

    assert issues(submission) == []


# Default, atomic, dry run ------------------------------------------------------------------

MIXED = csv_text(
    f"test-count,{CAMDEN},2026-04,5,,,",
    f"test-count,{CAMDEN},2026-13,5,,,",
    f"test-prop,{CAMDEN},2026-04,3,4,,",
)


def test_by_default_valid_rows_go_in_and_invalid_rows_are_reported(provider, provider_org, catalogue):
    submission = submit(provider, provider_org, MIXED)

    assert submission.status == Submission.Status.COMPLETED
    assert (submission.created_count, submission.rejected_count, submission.total_rows) == (2, 1, 3)
    assert issues(submission) == [(3, "period", IssueCode.PERIOD_MALFORMED)]
    assert OutcomeValue.objects.count() == 2
    assert "2 new" in submission.message


def test_an_atomic_submission_with_any_bad_row_writes_nothing(provider, provider_org, catalogue):
    submission = submit(provider, provider_org, MIXED, atomic=True)

    assert submission.status == Submission.Status.REJECTED
    assert (submission.created_count, submission.rejected_count) == (0, 1)
    assert issues(submission) == [(3, "period", IssueCode.PERIOD_MALFORMED)]
    assert not OutcomeValue.objects.exists()
    assert "nothing was imported" in submission.message


def test_an_atomic_submission_without_errors_writes_everything(provider, provider_org, catalogue):
    submission = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2026-04,5,,,"), atomic=True)

    assert (submission.status, submission.created_count, OutcomeValue.objects.count()) == ("completed", 1, 1)


def test_a_dry_run_reports_the_counts_and_writes_nothing(provider, provider_org, approved):
    text = csv_text(f"test-count,{CAMDEN},2026-04,5,,,", f"test-count,{CAMDEN},2026-05,6,,,", "nope,x,y,1,,,")
    before = list(OutcomeValue.objects.values())

    submission = submit(provider, provider_org, text, dry_run=True)

    assert submission.status == Submission.Status.COMPLETED
    assert (submission.created_count, submission.unchanged_count, submission.rejected_count) == (1, 1, 1)
    assert submission.message.startswith("Trial run: nothing was saved.")
    assert list(OutcomeValue.objects.values()) == before
    assert staging_tables() == []


# Re-imports and changes ------------------------------------------------------------------

FILE = csv_text(
    f"test-count,{CAMDEN},2026-04,5,,,",
    f"test-prop,{CAMDEN},2026-04,3,4,checked,",
    f"test-mean,{CAMDEN},2026-04,12.5,10,,",
)


def test_reimporting_the_same_file_reports_all_unchanged_and_writes_nothing(provider, provider_org, catalogue):
    first = submit(provider, provider_org, FILE)
    before = sorted(OutcomeValue.objects.values_list("pk", "numerator", "submission_id", "submitted_at", "status"))
    events = OutcomeValueEvent.objects.count()

    again = submit(provider, provider_org, FILE)

    assert (again.created_count, again.updated_count, again.unchanged_count, again.rejected_count) == (0, 0, 3, 0)
    assert sorted(OutcomeValue.objects.values_list("pk", "numerator", "submission_id", "submitted_at", "status")) == (
        before
    )
    assert all(row[2] == first.pk for row in before)
    assert OutcomeValueEvent.objects.count() == events == 0


def test_an_import_updates_a_changed_value_and_history_keeps_the_old_one(provider, provider_org, catalogue):
    submit(provider, provider_org, FILE)
    value = OutcomeValue.objects.get(indicator__code="test-prop")

    changed = submit(provider, provider_org, FILE.replace("3,4,checked", "2,4,rechecked"))

    assert (changed.created_count, changed.updated_count, changed.unchanged_count) == (0, 1, 2)
    value.refresh_from_db()
    assert (value.numerator, value.note, value.submission) == (2, "rechecked", changed)
    event = OutcomeValueEvent.objects.get(pgh_obj=value)
    first = Submission.objects.exclude(pk=changed.pk).get()
    assert (event.pgh_label, event.numerator, event.note, event.submission_id) == ("changed", 3, "checked", first.pk)


def test_a_change_returns_a_queried_value_to_submitted(provider, provider_org, catalogue):
    submit(provider, provider_org, FILE)
    OutcomeValue.objects.update(status=ValueStatus.QUERIED, query_message="Check Camden")

    submit(provider, provider_org, FILE.replace(",5,,", ",6,,"))

    value = OutcomeValue.objects.get(indicator__code="test-count")
    assert (value.numerator, value.status, value.query_message) == (6, ValueStatus.SUBMITTED, "")


def test_the_touched_cells_are_enqueued_for_the_metrics_recompute_on_commit(
    provider, provider_org, catalogue, django_capture_on_commit_callbacks, monkeypatch
):
    from outcomes import tasks

    seen = []
    monkeypatch.setattr(tasks.metrics_recompute, "delay", lambda cells: seen.append([tuple(c) for c in cells]))
    with django_capture_on_commit_callbacks(execute=True):
        submit(provider, provider_org, FILE)
    with django_capture_on_commit_callbacks(execute=True):
        submit(provider, provider_org, FILE)  # unchanged: nothing to recompute

    april = "2026-04-01"
    assert seen == [sorted((catalogue[k].pk, april) for k in ("count", "prop", "mean"))]


# Bytes, rows, row numbers ------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_utf8_with_or_without_a_byte_order_mark_is_read(bom, provider, provider_org, catalogue):
    data = bom + csv_text(f"test-count,{CAMDEN},2026-04,5,,Café,").encode()

    submission = submit(provider, provider_org, data)

    assert (issues(submission), submission.created_count) == ([], 1)
    assert OutcomeValue.objects.get().note == "Café"


def test_the_checksum_is_the_sha256_of_the_bytes(provider, provider_org, catalogue):
    data = ("\ufeff" + FILE).encode()

    submission = submit(provider, provider_org, data)

    assert submission.checksum == hashlib.sha256(data).hexdigest()
    assert submission.size_bytes == len(data)


def test_row_numbers_count_the_header_as_row_1_and_blank_lines_too(provider, provider_org, catalogue):
    text = HEADER + "\n\n" + f"test-count,{CAMDEN},2026-04,5,,,\n\n" + f"nope,{CAMDEN},2026-04,5,,,\n"

    submission = submit(provider, provider_org, text)

    assert issues(submission) == [(5, "indicator_code", IssueCode.UNKNOWN_INDICATOR)]
    assert (submission.total_rows, submission.created_count) == (2, 1)


def test_rows_given_as_dicts_go_through_the_same_checks(provider, provider_org, catalogue):
    rows = [
        {"indicator_code": "test-prop", "borough_code": CAMDEN, "period": "2026-04", "numerator": 3, "denominator": 4},
        {"indicator_code": "test-prop", "borough_code": CAMDEN, "period": "2026-05", "numerator": 5, "denominator": 4},
        {"indicator_code": "test-count", "borough_code": CAMDEN, "period": "2026-04", "numerator": " 9 "},
    ]

    submission = submit(provider, provider_org, rows=rows)

    # Numbered as the list is: the second item is row 2 (there is no header row to count).
    assert issues(submission) == [(2, "numerator", IssueCode.NUMERATOR_ABOVE_DENOMINATOR)]
    assert sorted(OutcomeValue.objects.values_list("indicator__code", "numerator")) == [
        ("test-count", 9),
        ("test-prop", 3),
    ]


# The two ways in agree ----------------------------------------------------------------------

# Every rule at once, unquoted: staged by PostgreSQL's COPY. The same cells with one quoted
# note go through Python's csv reader instead; both must give the same report.
MANY = [
    f"test-count,{CAMDEN},2026-01,5,,,",
    f"test-count,{CAMDEN},2026-02, 6 ,,padded,",
    f"  test-count  ,{CAMDEN},2026-03,7,,,",
    f"test-mean,{CAMDEN},2026-01,1.2345,3,,",
    f"test-mean,{CAMDEN},2026-02,1.23456,3,,",
    f"test-prop,{CAMDEN},2026-01,5,4,,",
    f"test-prop,{CAMDEN},2026-02,,4,,",
    f"test-prop,{CAMDEN},2026-03,1,,,",
    f"test-prop,{CAMDEN},2026-04,1,-4,,",
    f"test-count,{CAMDEN},2026-04,-0,,,",
    f"test-count,{CAMDEN},2026-05,1e3,,,",
    f"test-count,{CAMDEN},2026-06,1,,,",
    f"test-count,{CAMDEN},0000-01,1,,,",
    f"test-year,{CAMDEN},0000,1,,,",
    f"test-rate,{CAMDEN},2026-Q5,1,,,",
    f"test-count,{ISLINGTON},2025-01,1,,,",
    f"test-count,{CAMDEN},2025-02,1,,=cmd,",
    f"test-count,{CAMDEN},2025-03,1,, =cmd,",
    f"test-count,{CAMDEN},2025-04,1,,ok,@trust",
    f"test-count,{CAMDEN},2025-05,1,,ok,nobody",
    f"test-count,{CAMDEN},2025-05,2,,ok,",
    f"test-retired,{CAMDEN},2025-05,2,,,",
    f"test-count,{CAMDEN},2025-06,99999999999999999999,,,",
]


def _path_used(caplog) -> str:
    staged = [r.getMessage() for r in caplog.records if "staged" in r.getMessage()]
    return "COPY" if "by COPY" in staged[-1] else "Python"


def test_copy_and_pythons_csv_reader_report_the_same(provider, provider_org, catalogue, caplog):
    caplog.set_level(logging.DEBUG, logger="outcomes.ingest")
    fast = submit(provider, provider_org, csv_text(*MANY), dry_run=True)
    assert _path_used(caplog) == "COPY"
    quoted = submit(provider, provider_org, csv_text(*MANY, f'test-count,{CAMDEN},2024-01,1,,"a, b",'), dry_run=True)
    assert _path_used(caplog) == "Python"

    assert issues(quoted) == issues(fast)
    counts = ("created_count", "updated_count", "unchanged_count", "rejected_count")
    assert [getattr(quoted, c) for c in counts] == [getattr(fast, c) + (c == "created_count") for c in counts]
    assert list(quoted.issues.order_by("row_number", "code").values_list("message", flat=True)) == list(
        fast.issues.order_by("row_number", "code").values_list("message", flat=True)
    )
    assert fast.created_count == 5


@pytest.mark.parametrize("cell", [" =SUM(A1)", "\t@x", "=SUM(A1) "], ids=["space", "tab", "trailing"])
def test_a_formula_behind_blanks_is_still_caught(cell, provider, provider_org, catalogue, caplog):
    caplog.set_level(logging.DEBUG, logger="outcomes.ingest")
    submission = submit(provider, provider_org, csv_text(f"test-count,{CAMDEN},2026-04,5,,{cell},"))

    assert _path_used(caplog) == "COPY"
    assert issues(submission) == [(2, "note", IssueCode.FORMULA)]


def test_a_blank_line_sends_the_file_through_the_python_reader_with_the_same_result(
    provider, provider_org, catalogue, caplog
):
    caplog.set_level(logging.DEBUG, logger="outcomes.ingest")
    submission = submit(provider, provider_org, csv_text(*MANY[:3], "", *MANY[3:]), dry_run=True)

    assert _path_used(caplog) == "Python"
    assert submission.rejected_count == len(MANY) - 5


def test_a_stream_that_cannot_seek_is_spooled_and_read_once(provider, provider_org, catalogue):
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    data = csv_text(*MANY[:3], "", f'test-count,{CAMDEN},2024-01,1,,"a, b",').encode()

    submission = services.submission_create(
        actor=provider, organisation=provider_org, door=Door.API, stream=OneWay(data)
    )

    assert (submission.created_count, submission.rejected_count) == (4, 0)
    assert submission.checksum == hashlib.sha256(data).hexdigest()


# The staged tables are always dropped -----------------------------------------------------


def test_no_staging_table_is_left_behind(provider, provider_org, catalogue):
    submit(provider, provider_org, MIXED)
    submit(provider, provider_org, MIXED, atomic=True)
    submit(provider, provider_org, b"")

    assert staging_tables() == []
    assert not SubmissionIssue.objects.filter(code="").exists()


# Every code is exercised ----------------------------------------------------------------------

# Codes with tests of their own (here or in test_bad_input.py), by test name.
DEDICATED = {
    IssueCode.DUPLICATE_KEY: "test_a_key_repeated_in_one_submission_rejects_every_copy",
    IssueCode.APPROVED_LOCKED: "test_an_approved_value_is_locked_against_a_new_number",
    IssueCode.OUTLIER: "test_an_unusual_value_is_a_warning_not_a_rejection",
}


def test_every_issue_code_is_exercised():
    from tests.outcomes import test_bad_input, test_ingest_groups

    covered = {code for code, *_ in ROW_CASES} | set(DEDICATED) | test_bad_input.CODES_COVERED
    covered |= {code for code, *_ in test_ingest_groups.GROUP_CASES} | {IssueCode.GROUPS_ABOVE_TOTAL}
    assert covered == set(IssueCode.values)
    assert all(callable(globals().get(name)) for name in DEDICATED.values())


# The benchmark keeps working --------------------------------------------------------------------


def test_the_import_benchmark_runs_end_to_end_on_2000_rows(tmp_path):
    from tests.conftest import _database_url

    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(connection.settings_dict)
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # noqa: S603 - our own interpreter running our own script
        [
            sys.executable,
            str(root / "bench" / "ingest.py"),
            "--rows",
            "2000",
            "--naive-rows",
            "200",
            "--database",
            f"londonmh_bench_test_{os.getpid()}",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio" in result.stdout
    assert "peak RSS" in result.stdout
    assert "re-import (all unchanged)" in result.stdout
    assert "naive per-row save()" in result.stdout
