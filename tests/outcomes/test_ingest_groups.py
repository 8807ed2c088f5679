"""Values for population groups through the import pipeline (issue 21): the optional `breakdown`
and `group` columns, their validation codes (each with its row and column), the upsert keyed on
the group, and the counts check that a breakdown's groups do not add up to more than all people.
The clock is fixed on 15 June 2026, as in test_ingest.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from outcomes.breakdowns import Breakdown
from outcomes.models import IssueCode, Measure, OutcomeValue, PeriodType, Submission, ValueStatus
from tests.outcomes.test_ingest import CAMDEN, csv_text, issues, submit

pytestmark = pytest.mark.django_db

HEADER = "indicator_code,borough_code,period,numerator,denominator,note,organisation,breakdown,group"


@pytest.fixture(autouse=True)
def _mid_june_2026(time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def grouped(db):
    from tests.factories import IndicatorFactory

    def make(code, measure, **extra):
        return IndicatorFactory(
            code=code, name=code, definition="A test indicator.", measure=measure, period_type=PeriodType.MONTH, **extra
        )

    return {
        "count": make("g-count", Measure.COUNT, breakdowns=[Breakdown.ETHNICITY, Breakdown.SEX]),
        "age": make("g-age", Measure.COUNT, breakdowns=[Breakdown.AGE], age_bands=["0-17", "18-64", "65+"]),
        "prop": make("g-prop", Measure.PROPORTION, breakdowns=[Breakdown.DEPRIVATION]),
        "plain": make("g-plain", Measure.COUNT),
    }


def rows(*lines: str) -> str:
    return csv_text(*lines, header=HEADER)


# (code, the bad row, the column reported)
GROUP_CASES = [
    (IssueCode.UNKNOWN_BREAKDOWN, f"g-count,{CAMDEN},2026-04,5,,,,religion,muslim", "breakdown"),
    (IssueCode.UNKNOWN_GROUP, f"g-count,{CAMDEN},2026-04,5,,,,ethnicity,martian", "group"),
    (IssueCode.UNKNOWN_GROUP, f"g-age,{CAMDEN},2026-04,5,,,,age,18-24", "group"),
    (IssueCode.BREAKDOWN_NOT_ACCEPTED, f"g-count,{CAMDEN},2026-04,5,,,,deprivation,q1", "breakdown"),
    (IssueCode.BREAKDOWN_NOT_ACCEPTED, f"g-plain,{CAMDEN},2026-04,5,,,,sex,female", "breakdown"),
    (IssueCode.GROUP_WITHOUT_BREAKDOWN, f"g-count,{CAMDEN},2026-04,5,,,,,black", "breakdown"),
    (IssueCode.BREAKDOWN_WITHOUT_GROUP, f"g-count,{CAMDEN},2026-04,5,,,,ethnicity,", "group"),
]


@pytest.mark.parametrize(
    ("code", "line", "column"), GROUP_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(GROUP_CASES)]
)
@pytest.mark.parametrize("door", ["csv", "api"])
def test_each_group_rule_reports_its_code_on_the_right_row_and_column(
    code, line, column, door, provider, provider_org, grouped
):
    good = [f"g-count,{CAMDEN},2026-03,7,,,,,", f"g-count,{CAMDEN},2026-05,8,,,,,"]
    if door == "csv":
        submission = submit(provider, provider_org, rows(good[0], line, good[1]))
        bad_row = 3
    else:
        names = HEADER.split(",")
        dicts = [dict(zip(names, text.split(","), strict=True)) for text in (good[0], line, good[1])]
        submission = submit(provider, provider_org, rows=dicts)
        bad_row = 2  # rows given as a list count from 1

    assert issues(submission) == [(bad_row, column, code)]
    assert (submission.created_count, submission.rejected_count) == (2, 1)
    message = submission.issues.get().message
    assert message and "None" not in message


def test_group_values_go_in_beside_the_headline_and_are_keyed_on_their_group(provider, provider_org, grouped):
    text = rows(
        f"g-count,{CAMDEN},2026-04,10,,,,,",
        f"g-count,{CAMDEN},2026-04,6,,,,ethnicity,white",
        f"g-count,{CAMDEN},2026-04,4,,,,Ethnicity,Black",  # codes are read in any case
        f"g-count,{CAMDEN},2026-04,5,,,,sex,female",
        f"g-age,{CAMDEN},2026-04,3,,,,age,65+",
        f"g-prop,{CAMDEN},2026-04,30,40,,,deprivation,q1",
    )

    submission = submit(provider, provider_org, text)

    assert issues(submission) == []
    assert submission.created_count == 6
    stored = sorted(OutcomeValue.objects.values_list("indicator__code", "breakdown", "population_group", "numerator"))
    assert stored == [
        ("g-age", "age", "65+", Decimal(3)),
        ("g-count", "", "", Decimal(10)),
        ("g-count", "ethnicity", "black", Decimal(4)),
        ("g-count", "ethnicity", "white", Decimal(6)),
        ("g-count", "sex", "female", Decimal(5)),
        ("g-prop", "deprivation", "q1", Decimal(30)),
    ]

    # The same file again: nothing changes. A new figure for one group updates that group only.
    again = submit(provider, provider_org, text)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 6)
    changed = submit(provider, provider_org, rows(f"g-count,{CAMDEN},2026-04,3,,,,ethnicity,black"))
    assert (changed.created_count, changed.updated_count) == (0, 1)
    assert OutcomeValue.objects.get(breakdown="ethnicity", population_group="black").numerator == 3
    assert OutcomeValue.objects.get(indicator__code="g-count", breakdown="").numerator == 10


def test_a_file_without_the_group_columns_writes_headlines_as_before(provider, provider_org, grouped):
    submission = submit(provider, provider_org, csv_text(f"g-count,{CAMDEN},2026-04,10,,,"))

    assert issues(submission) == []
    assert OutcomeValue.objects.get().breakdown == ""


def test_a_header_with_breakdown_but_not_group_is_refused_whole(provider, provider_org, grouped):
    header = "indicator_code,borough_code,period,numerator,denominator,breakdown"
    submission = submit(provider, provider_org, csv_text(f"g-count,{CAMDEN},2026-04,10,,ethnicity", header=header))

    assert submission.status == Submission.Status.REJECTED
    assert issues(submission) == [(1, "", IssueCode.HEADER_MISSING)]
    assert "no 'group' column" in submission.issues.get().message


def test_the_same_group_twice_is_a_duplicate_but_two_groups_are_not(provider, provider_org, grouped):
    text = rows(
        f"g-count,{CAMDEN},2026-04,2,,,,ethnicity,white",
        f"g-count,{CAMDEN},2026-04,3,,,,ethnicity,black",
        f"g-count,{CAMDEN},2026-04,4,,,,ethnicity,white",
    )
    submission = submit(provider, provider_org, text)

    assert issues(submission) == [(2, "", IssueCode.DUPLICATE_KEY), (4, "", IssueCode.DUPLICATE_KEY)]
    assert list(OutcomeValue.objects.values_list("population_group", flat=True)) == ["black"]


def test_count_groups_above_the_headline_in_the_file_are_rejected_each_with_its_row(provider, provider_org, grouped):
    text = rows(
        f"g-count,{CAMDEN},2026-04,10,,,,,",
        f"g-count,{CAMDEN},2026-04,7,,,,ethnicity,white",
        f"g-count,{CAMDEN},2026-04,5,,,,ethnicity,black",
        f"g-count,{CAMDEN},2026-04,6,,,,sex,female",  # another breakdown: 6 <= 10, fine
    )
    submission = submit(provider, provider_org, text)

    assert issues(submission) == [
        (3, "numerator", IssueCode.GROUPS_ABOVE_TOTAL),
        (4, "numerator", IssueCode.GROUPS_ABOVE_TOTAL),
    ]
    assert "add up to 12, more than the all-people total of 10" in submission.issues.first().message
    assert sorted(OutcomeValue.objects.values_list("breakdown", flat=True)) == ["", "sex"]


def test_count_groups_are_checked_against_the_stored_headline_when_the_file_has_none(provider, provider_org, grouped):
    submit(provider, provider_org, csv_text(f"g-count,{CAMDEN},2026-04,10,,,"))

    over = submit(provider, provider_org, rows(f"g-count,{CAMDEN},2026-04,11,,,,sex,male"))
    within = submit(provider, provider_org, rows(f"g-count,{CAMDEN},2026-04,10,,,,sex,male"))

    assert issues(over) == [(2, "numerator", IssueCode.GROUPS_ABOVE_TOTAL)]
    assert issues(within) == []


def test_an_atomic_upload_with_one_bad_group_writes_nothing(provider, provider_org, grouped):
    text = rows(f"g-count,{CAMDEN},2026-04,10,,,,,", f"g-count,{CAMDEN},2026-04,4,,,,ethnicity,purple")

    submission = submit(provider, provider_org, text, atomic=True)

    assert submission.status == Submission.Status.REJECTED
    assert issues(submission) == [(3, "group", IssueCode.UNKNOWN_GROUP)]
    assert not OutcomeValue.objects.exists()


def test_an_approved_group_value_is_locked_like_a_headline(provider, provider_org, grouped):
    submit(provider, provider_org, rows(f"g-count,{CAMDEN},2026-04,4,,,,ethnicity,black"))
    OutcomeValue.objects.update(status=ValueStatus.APPROVED)

    submission = submit(provider, provider_org, rows(f"g-count,{CAMDEN},2026-04,5,,,,ethnicity,black"))

    assert issues(submission) == [(2, "", IssueCode.APPROVED_LOCKED)]


def test_the_copy_and_python_readers_agree_on_group_rows(provider, provider_org, grouped):
    fast = rows(f"g-count,{CAMDEN},2026-04,4,,,,ethnicity,black", f"g-count,{CAMDEN},2026-04,4,,,,ethnicity,nope")
    slow = fast.replace(",nope", ',"nope"')  # a quote sends the file down Python's reader

    first = submit(provider, provider_org, fast)
    OutcomeValue.objects.all().delete()
    second = submit(provider, provider_org, slow)

    assert issues(first) == issues(second) == [(3, "group", IssueCode.UNKNOWN_GROUP)]
