"""Data entry as providers do it: the web form keeps what was typed, one-button submit after a
clean trial run, a CSV template ready to fill in, financial quarters, rows numbered as seen."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F

from outcomes.models import (
    Measure,
    OutcomeValue,
    PeriodType,
    Submission,
    TrialFile,
    ValueStatus,
    financial_quarter_label,
    parse_financial_quarter,
)
from stakeholders.models import Area, AreaLevel, Role
from tests.factories import CAMDEN, ISLINGTON, LAMBETH, IndicatorFactory, MembershipFactory

pytestmark = pytest.mark.django_db

HEADER = "indicator_code,borough_code,period,numerator,denominator,note"
TEMPLATE_HEADER = f"{HEADER},breakdown,group"
GRID = "/data/form/?indicator=test-recovery&period=2025-03"
# A save with rows in error, whatever the number of rows: session, user and permission; the
# step-1 choices and the grid's stored values; the submission record; staging the rows (one
# COPY); the import's set-based validation (settings, advisory lock, lookup and work tables, the
# one statement that explains every error); the issues read back onto the form; the stored
# values read again for the re-rendered grid; the page's header; saving the session.
QUERIES_GRID_IN_ERROR = 55


def borough(short_code: str) -> Area:
    return Area.objects.get(short_code=short_code, level=AreaLevel.BOROUGH)


@pytest.fixture
def two_boroughs(provider_org):
    """Camden and Islington: the grid shows them in that order, rows 1 and 2."""
    provider_org.boroughs.add(borough("ISL"))
    return provider_org


@pytest.fixture
def physical_checks(db):
    """A quarterly count reported by NHS financial quarter."""
    return IndicatorFactory(
        code="test-physical",
        name="Physical health checks (test)",
        definition="People with SMI who had all six checks.",
        measure=Measure.COUNT,
        period_type=PeriodType.QUARTER,
        financial_quarters=True,
    )


def upload(client, text: str, **options):
    data = {"file": SimpleUploadedFile("values.csv", text.encode(), content_type="text/csv"), **options}
    return client.post("/data/upload/", data)


# The web form: rejected rows come back as typed ------------------------------------------


def test_a_rejected_row_comes_back_on_the_form_as_typed_and_the_good_row_is_saved(
    client_for, provider, two_boroughs, recovery
):
    response = client_for(provider).post(
        GRID, {"num_CMD": "45", "den_CMD": "60", "num_ISL": "70", "den_ISL": "60", "note_ISL": "checked twice"}
    )
    assert response.status_code == 200
    page = response.text
    # Error summary linking to the input, and the message beside it.
    assert "There is a problem" in page
    assert 'href="#id_num_ISL"' in page
    assert 'id="id_num_ISL-error"' in page
    assert "Islington (row 2): The numerator 70 is above the denominator 60." in page
    # What was typed is still there, in both rows.
    assert 'value="70"' in page and 'value="checked twice"' in page and 'value="45"' in page
    assert "1 value saved" in page
    # The good row was saved (the person did not choose all or nothing), the bad one not.
    assert list(OutcomeValue.objects.values_list("borough__short_code", "numerator")) == [("CMD", 45)]


def test_all_or_nothing_on_the_web_form_saves_nothing_and_keeps_every_typed_value(
    client_for, provider, two_boroughs, recovery
):
    response = client_for(provider).post(
        GRID, {"num_CMD": "45", "den_CMD": "60", "num_ISL": "abc", "den_ISL": "60", "atomic": "on"}
    )
    assert response.status_code == 200
    assert "Nothing was saved." in response.text
    assert "Islington (row 2): &#39;abc&#39; is not a non-negative whole number" in response.text
    assert 'value="abc"' in response.text and 'value="45"' in response.text
    assert not OutcomeValue.objects.exists()
    assert Submission.objects.get().status == Submission.Status.REJECTED

    # Corrected, the same form saves both rows.
    fixed = client_for(provider).post(
        GRID, {"num_CMD": "45", "den_CMD": "60", "num_ISL": "50", "den_ISL": "60", "atomic": "on"}
    )
    assert fixed.status_code == 302
    assert OutcomeValue.objects.count() == 2


def test_a_clean_web_form_save_goes_to_its_report(client_for, provider, two_boroughs, recovery):
    response = client_for(provider).post(GRID, {"num_ISL": "50", "den_ISL": "60"})
    assert response.status_code == 302
    assert OutcomeValue.objects.get().borough.short_code == "ISL"


def test_web_form_rows_are_numbered_as_the_page_shows_them_from_1(client_for, provider, two_boroughs, recovery):
    client_for(provider).post(GRID, {"num_CMD": "70", "den_CMD": "60"})
    submission = Submission.objects.get()
    assert list(submission.issues.values_list("row_number", "code")) == [(1, "numerator_above_denominator")]
    report = client_for(provider).get(submission.get_absolute_url()).text
    assert "Camden" in report


def test_a_json_lists_first_item_is_item_1_and_csv_rows_keep_their_line_numbers(
    client_for, provider, provider_org, recovery
):
    client = client_for(provider)
    rows = [
        {
            "indicator_code": "test-recovery",
            "borough_code": CAMDEN,
            "period": "2025-01",
            "numerator": 50,
            "denominator": 40,
        },
        {
            "indicator_code": "test-recovery",
            "borough_code": CAMDEN,
            "period": "2025-02",
            "numerator": 5,
            "denominator": 40,
        },
    ]
    summary = client.post("/api/v1/submissions/", json.dumps(rows), content_type="application/json").json()
    assert [(i["row_number"], i["code"]) for i in summary["issues"]] == [(1, "numerator_above_denominator")]
    text = f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,50,40,\n".encode()
    summary = client.post("/api/v1/submissions/", text, content_type="text/csv").json()
    assert [(i["row_number"], i["code"]) for i in summary["issues"]] == [(2, "numerator_above_denominator")]


# One button after a clean trial run --------------------------------------------------------


def _trial(client, text: str | None = None, **options) -> Submission:
    text = text or f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,45,60,\ntest-recovery,{CAMDEN},2025-04,46,61,\n"
    upload(client, text, dry_run="on", **options)
    return Submission.objects.order_by("-pk").first()


def test_after_a_clean_trial_run_one_button_submits_the_same_stored_file(client_for, provider, recovery):
    client = client_for(provider)
    trial = _trial(client, atomic="on")
    assert not OutcomeValue.objects.exists()
    report = client.get(trial.get_absolute_url()).text
    assert "Submit this file" in report
    assert f'action="/data/submissions/{trial.pk}/submit/"' in report

    response = client.post(f"/data/submissions/{trial.pk}/submit/")
    assert response.status_code == 302
    real = Submission.objects.get(trial_of=trial)
    assert response.url == real.get_absolute_url()
    # The same bytes, with the trial's options, saved for real.
    assert (real.checksum, real.filename, real.atomic, real.dry_run) == (trial.checksum, "values.csv", True, False)
    assert (real.created_count, real.status) == (2, Submission.Status.COMPLETED)
    assert OutcomeValue.objects.count() == 2
    assert not TrialFile.objects.exists()
    again = client.get(trial.get_absolute_url()).text
    assert "Submit this file" not in again and f"submission {real.pk}" in again


def test_a_used_trial_is_refused_a_second_time(client_for, provider, recovery):
    client = client_for(provider)
    trial = _trial(client)
    client.post(f"/data/submissions/{trial.pk}/submit/")
    second = client.post(f"/data/submissions/{trial.pk}/submit/")
    assert second.status_code == 409
    assert "already been submitted or is no longer kept" in second.text
    assert Submission.objects.filter(trial_of=trial).count() == 1


def test_an_expired_trial_file_is_refused(client_for, provider, recovery, settings):
    client = client_for(provider)
    trial = _trial(client)
    kept = dt.timedelta(hours=settings.OUTCOMES_TRIAL_KEEP_HOURS, minutes=1)
    TrialFile.objects.update(created_at=F("created_at") - kept)
    assert "Submit this file" not in client.get(trial.get_absolute_url()).text
    response = client.post(f"/data/submissions/{trial.pk}/submit/")
    assert response.status_code == 409 and "Upload the file again" in response.text
    assert not OutcomeValue.objects.exists() and not TrialFile.objects.exists()


def test_a_trial_with_errors_offers_no_button_and_is_refused(client_for, provider, recovery):
    client = client_for(provider)
    trial = _trial(client, f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,70,60,\n")
    assert trial.rejected_count == 1
    assert "Submit this file" not in client.get(trial.get_absolute_url()).text
    response = client.post(f"/data/submissions/{trial.pk}/submit/")
    assert response.status_code == 409 and "found errors" in response.text
    assert not OutcomeValue.objects.exists()


def test_a_real_submission_is_not_a_trial_to_submit(client_for, provider, recovery):
    client = client_for(provider)
    upload(client, f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,45,60,\n")
    real = Submission.objects.get()
    assert not TrialFile.objects.exists()  # only trial runs keep their file
    assert client.post(f"/data/submissions/{real.pk}/submit/").status_code == 409


def test_a_colleagues_trial_is_403_and_another_organisations_is_404(
    client_for, provider, provider_org, outsider, recovery
):
    trial = _trial(client_for(provider))
    colleague = MembershipFactory(organisation=provider_org, role=Role.DATA_SUBMITTER).user
    assert "Submit this file" not in client_for(colleague).get(trial.get_absolute_url()).text
    assert client_for(colleague).post(f"/data/submissions/{trial.pk}/submit/").status_code == 403
    assert client_for(outsider).post(f"/data/submissions/{trial.pk}/submit/").status_code == 404
    assert client_for(None).post(f"/data/submissions/{trial.pk}/submit/").status_code == 302  # sign in
    assert client_for(provider).get(f"/data/submissions/{trial.pk}/submit/").status_code == 405
    assert not OutcomeValue.objects.exists() and TrialFile.objects.count() == 1


def test_a_submitter_who_lost_the_role_cannot_submit_their_old_trial(client_for, provider, recovery):
    trial = _trial(client_for(provider))
    provider.memberships.filter(role=Role.DATA_SUBMITTER).update(role=Role.CLINICIAN)
    assert client_for(provider).post(f"/data/submissions/{trial.pk}/submit/").status_code == 403


# The CSV template, ready to fill in --------------------------------------------------------


def _template(client, **query) -> list[list[str]]:
    response = client.get("/data/template.csv", query)
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.content.decode())))


@time_machine.travel(dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC))
def test_the_template_has_the_providers_boroughs_the_latest_open_period_and_empty_numbers(
    client_for, provider, two_boroughs, recovery, physical_checks
):
    rows = _template(client_for(provider), indicator="test-recovery")
    assert rows == [
        TEMPLATE_HEADER.split(","),
        ["test-recovery", CAMDEN, "2026-04", "", "", "", "", ""],
        ["test-recovery", ISLINGTON, "2026-04", "", "", "", "", ""],
    ]
    # A financial-quarter indicator's latest ended quarter is January to March: 2025-26 Q4.
    rows = _template(client_for(provider), indicator="test-physical")
    assert [r[2] for r in rows[1:]] == ["2025-26 Q4", "2025-26 Q4"]
    # Without an indicator: every indicator still collected.
    rows = _template(client_for(provider))
    assert {r[0] for r in rows[1:]} == {"test-recovery", "test-physical"} and len(rows) == 5


@time_machine.travel(dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC))
def test_the_filled_template_uploads_once_the_numbers_are_in(client_for, provider, provider_org, recovery):
    client = client_for(provider)
    rows = _template(client, indicator="test-recovery")
    rows[1][3:5] = ["45", "60"]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    upload(client, out.getvalue())
    assert OutcomeValue.objects.get().period_start == dt.date(2026, 4, 1)


def test_the_template_for_another_organisation_or_an_unknown_indicator_is_a_404(
    client_for, provider, other_org, recovery
):
    client = client_for(provider)
    assert client.get("/data/template.csv", {"organisation": other_org.pk}).status_code == 404
    assert client.get("/data/template.csv", {"indicator": "no-such"}).status_code == 404
    MembershipFactory(user=provider, organisation=other_org, role=Role.DATA_SUBMITTER)
    rows = _template(client, organisation=other_org.pk, indicator="test-recovery")
    assert [r[1] for r in rows[1:]] == [LAMBETH]


def test_the_upload_page_offers_the_template_by_indicator(client_for, provider, recovery):
    page = client_for(provider).get("/data/upload/").text
    assert 'id="template-form"' in page and "Every indicator still collected" in page


# Financial quarters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "label"),
    [
        (dt.date(2025, 4, 1), "2025-26 Q1"),
        (dt.date(2025, 7, 1), "2025-26 Q2"),
        (dt.date(2025, 10, 1), "2025-26 Q3"),
        (dt.date(2026, 1, 1), "2025-26 Q4"),
        (dt.date(1999, 4, 1), "1999-00 Q1"),
    ],
)
def test_financial_quarters_are_named_by_financial_year_from_april(start, label):
    assert financial_quarter_label(start) == label
    assert parse_financial_quarter(label) == start


@pytest.mark.parametrize("text", ["2025-27 Q1", "2025-26 Q5", "2025-Q1", "2025/26 Q1", ""])
def test_other_writings_are_not_financial_quarters(text):
    assert parse_financial_quarter(text) is None


def test_the_description_says_which_months_a_quarter_means(physical_checks, recovery):
    assert physical_checks.period_description(dt.date(2025, 4, 1)) == "2025-26 Q1 (April to June 2025)"
    assert physical_checks.period_description(dt.date(2026, 1, 1)) == "2025-26 Q4 (January to March 2026)"
    assert recovery.period_description(dt.date(2026, 4, 1)) == "2026-04 (April 2026)"


def test_a_csv_of_financial_quarters_is_stored_by_their_start_date(client_for, provider, physical_checks):
    client = client_for(provider)
    text = (
        f"{HEADER}\ntest-physical,{CAMDEN},2025-26 Q1,120,,\ntest-physical,{CAMDEN},2025-26 Q4,80,,\n"
        f"test-physical,{CAMDEN},2025-Q2,10,,\ntest-physical,{CAMDEN},2025-27 Q1,10,,\n"
    )
    upload(client, text)
    assert sorted(OutcomeValue.objects.values_list("period_start", flat=True)) == [
        dt.date(2025, 4, 1),
        dt.date(2026, 1, 1),
    ]
    submission = Submission.objects.get()
    found = {i.row_number: (i.code, i.message) for i in submission.issues.all()}
    assert found[4] == (
        "period_wrong_type",
        "'2025-Q2' is not a financial quarter; test-physical is reported by NHS financial quarter (April start),"
        " written as 2025-26 Q1.",
    )
    assert found[5][0] == "period_malformed"  # 2026-27 would follow 2025, not 2025-27
    assert OutcomeValue.objects.get(period_start=dt.date(2025, 4, 1)).period == "2025-26 Q1"


def test_the_web_form_names_the_months_of_a_financial_quarter(client_for, provider, physical_checks):
    client = client_for(provider)
    step1 = client.get("/data/form/", {"indicator": "test-physical", "period": "2025-Q1"}).text
    assert "reported by financial quarter" in step1
    assert "2025-26 Q1 (April to June 2025)" in step1
    grid = client.get("/data/form/", {"indicator": "test-physical", "period": "2025-26 q1"})
    assert "2025-26 Q1 (April to June 2025)" in grid.text
    response = client.post("/data/form/?indicator=test-physical&period=2025-26+Q1", {"num_CMD": "12"})
    assert response.status_code == 302
    assert OutcomeValue.objects.get().period_start == dt.date(2025, 4, 1)


def test_a_financial_quarter_that_has_not_ended_is_refused(client_for, provider, physical_checks):
    with time_machine.travel(dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC)):
        page = client_for(provider).get("/data/form/", {"indicator": "test-physical", "period": "2026-27 Q1"}).text
    assert "The period 2026-27 Q1 (April to June 2026) has not ended yet" in page


def test_only_a_quarterly_indicator_can_use_financial_quarters(recovery):
    from django.core.exceptions import ValidationError

    recovery.financial_quarters = True
    with pytest.raises(ValidationError, match="Only an indicator reported by quarter"):
        recovery.full_clean()


def test_values_can_be_filtered_by_a_financial_quarter_name(client_for, provider, provider_org, physical_checks):
    client = client_for(provider)
    upload(client, f"{HEADER}\ntest-physical,{CAMDEN},2025-26 Q1,120,,\ntest-physical,{CAMDEN},2025-26 Q2,90,,\n")
    page = client.get("/data/values/", {"period": "2025-26 Q1"}).text
    assert "2025-26 Q1" in page and "2025-26 Q2" not in page
    api = client.get("/api/v1/outcome-values/", {"period_from": "2025-26 Q2"}).json()
    assert [(r["period"], r["period_start"]) for r in api["results"]] == [("2025-26 Q2", "2025-07-01")]


def test_an_approved_value_reported_on_the_form_is_locked_with_its_message_beside_it(
    client_for, provider, provider_org, recovery
):
    client = client_for(provider)
    client.post(GRID, {"num_CMD": "40", "den_CMD": "80"})
    OutcomeValue.objects.update(status=ValueStatus.APPROVED)
    page = client.post(GRID, {"num_CMD": "41", "den_CMD": "80"}).text
    assert 'href="#id_num_CMD"' in page and "was approved and is locked" in page


# Query counts -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 6])
def test_the_template_runs_a_fixed_number_of_queries(
    client_for, provider, provider_org, django_assert_num_queries, size
):
    for i in range(size):
        IndicatorFactory(
            code=f"ind-{i}", name=f"Indicator {i}", definition="d", measure=Measure.COUNT, period_type="month"
        )
    provider_org.boroughs.add(*Area.objects.filter(level=AreaLevel.BOROUGH).order_by("name")[:size])
    client = client_for(provider)
    # session, user, can_submit, the user's organisations (the default is the first), the active
    # indicators, the organisation's boroughs (once for every indicator), and saving the session
    # (savepoint, update, release: SESSION_SAVE_EVERY_REQUEST)
    with django_assert_num_queries(9):
        response = client.get("/data/template.csv")
    assert len(response.content.decode().splitlines()) == 1 + size * provider_org.boroughs.count()


@pytest.mark.parametrize("size", [1, 8])
def test_the_grid_with_rows_in_error_runs_a_fixed_number_of_queries(
    client_for, provider, provider_org, recovery, django_assert_num_queries, size
):
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).exclude(short_code="CMD").order_by("name")[:size])
    provider_org.boroughs.add(*boroughs)
    client = client_for(provider)
    posted = {f"num_{b.short_code}": "70" for b in [*boroughs, borough("CMD")]}
    posted |= {f"den_{b.short_code}": "60" for b in [*boroughs, borough("CMD")]}
    client.post(GRID, posted)  # warm: the first import builds nothing the second does not
    with django_assert_num_queries(QUERIES_GRID_IN_ERROR):
        response = client.post(GRID, posted)
    assert response.text.count("is above the denominator 60") == 2 * (size + 1)  # summary and inline
