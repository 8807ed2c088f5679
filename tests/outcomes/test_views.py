"""The outcomes pages: catalogue, submitting by form and CSV, import reports, our values, review, populations."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from outcomes import ingest
from outcomes.models import (
    Door,
    Indicator,
    Measure,
    OutcomeValue,
    PeriodType,
    Population,
    Submission,
    ValueStatus,
)
from stakeholders.models import Area, AreaLevel, Role
from tests.factories import CAMDEN, ISLINGTON, LAMBETH, IndicatorFactory, MembershipFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

HEADER = "indicator_code,borough_code,period,numerator,denominator,note"
TEMPLATE_HEADER = f"{HEADER},breakdown,group"
SIGN_IN = "/account/sign-in/"


# Fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def contacts(db):
    return IndicatorFactory(
        code="test-contacts",
        name="People in contact (test)",
        definition="People in contact with services.",
        measure=Measure.COUNT,
        period_type=PeriodType.QUARTER,
    )


def borough(short_code: str) -> Area:
    return Area.objects.get(short_code=short_code, level=AreaLevel.BOROUGH)


def make_values(org, user, indicator, boroughs, periods, *, status=ValueStatus.SUBMITTED, numerator=40, denominator=80):
    """Values written directly (the pipeline is tested elsewhere): one per borough and period."""
    submission = SubmissionFactory(
        organisation=org, submitted_by=user, door=Door.API, status=Submission.Status.COMPLETED
    )
    return OutcomeValue.objects.bulk_create(
        OutcomeValue(
            organisation=org,
            indicator=indicator,
            borough=borough(code),
            period_start=period,
            numerator=Decimal(numerator),
            denominator=denominator if indicator.needs_denominator else None,
            status=status,
            submission=submission,
            submitted_at=timezone.now(),
        )
        for code in boroughs
        for period in periods
    )


def months(n: int, start: dt.date = dt.date(2020, 1, 1)) -> list[dt.date]:
    return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def upload(client, text: str, **options):
    data = {"file": SimpleUploadedFile("values.csv", text.encode(), content_type="text/csv"), **options}
    return client.post("/data/upload/", data)


def report_counts(html: str) -> dict[str, int]:
    return {name: int(n.replace(",", "")) for name, n in re.findall(r'data-count="(\w+)">([\d,]+)<', html)}


# Catalogue ------------------------------------------------------------------------------


def test_anyone_can_search_and_filter_the_catalogue(client, recovery, contacts):
    response = client.get("/indicators/")
    assert response.status_code == 200
    assert "Recovery rate (test)" in response.text and "People in contact (test)" in response.text

    by_definition = client.get("/indicators/", {"q": "finishing treatment"}).text
    assert "Recovery rate (test)" in by_definition and "People in contact (test)" not in by_definition
    by_measure = client.get("/indicators/", {"measure": Measure.COUNT}).text
    assert "People in contact (test)" in by_measure and "Recovery rate (test)" not in by_measure
    by_period = client.get("/indicators/", {"period_type": PeriodType.MONTH}).text
    assert "Recovery rate (test)" in by_period and "People in contact (test)" not in by_period


def test_the_catalogue_says_so_when_nothing_matches(client, recovery):
    response = client.get("/indicators/", {"q": "no such thing"})
    assert "No indicators found" in response.text


def test_the_indicator_page_shows_how_it_is_counted_and_labels_synthetic_data(client, recovery):
    recovery.is_synthetic_demo = True
    recovery.save()
    response = client.get("/indicators/test-recovery/")
    assert response.status_code == 200
    for text in ("Share of people finishing treatment", "People who recovered", "People who finished treatment"):
        assert text in response.text
    assert "Synthetic demo data" in response.text
    assert "Edit this indicator" not in response.text


def test_an_unknown_indicator_is_a_404(client):
    assert client.get("/indicators/no-such-code/").status_code == 404


def test_a_catalogue_manager_creates_and_then_edits_an_indicator(client_for, staff):
    client = client_for(staff)
    assert client.get("/indicators/new/").status_code == 200
    form = {
        "code": "crisis-4h",
        "name": "Crisis response within 4 hours",
        "definition": "Urgent referrals seen within 4 hours.",
        "measure": Measure.PROPORTION,
        "polarity": "higher",
        "period_type": PeriodType.MONTH,
        "is_active": "on",
    }
    response = client.post("/indicators/new/", form)
    assert response.status_code == 302
    assert response.url == "/indicators/crisis-4h/"
    indicator = Indicator.objects.get(code="crisis-4h")

    # The code is fixed once created: a posted change is ignored.
    response = client.post("/indicators/crisis-4h/edit/", {**form, "code": "renamed", "name": "Crisis within 4h"})
    assert response.status_code == 302
    indicator.refresh_from_db()
    assert (indicator.code, indicator.name) == ("crisis-4h", "Crisis within 4h")


def test_the_indicator_form_shows_errors_and_saves_nothing(client_for, staff, recovery):
    response = client_for(staff).post("/indicators/new/", {"code": "test-recovery", "name": ""})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert Indicator.objects.count() == 1


def test_an_indicator_cannot_take_a_code_the_addresses_use(client_for, staff):
    response = client_for(staff).post(
        "/indicators/new/",
        {"code": "new", "name": "N", "definition": "d", "measure": "count", "polarity": "none", "period_type": "year"},
    )
    assert "Choose another code" in response.text
    assert not Indicator.objects.exists()


def test_the_catalogue_permission_alone_lets_a_non_staff_user_manage_it(client_for, provider, recovery):
    provider.user_permissions.add(Permission.objects.get(codename="manage_catalogue"))
    assert client_for(provider).get("/indicators/test-recovery/edit/").status_code == 200


def test_only_catalogue_managers_may_create_or_edit_indicators(client_for, provider, commissioner, recovery):
    for user in (provider, commissioner):
        client = client_for(user)
        assert client.get("/indicators/new/").status_code == 403
        assert client.post("/indicators/test-recovery/edit/", {"name": "Hijacked"}).status_code == 403
    assert Indicator.objects.get().name == "Recovery rate (test)"
    anonymous = client_for(None).get("/indicators/new/")
    assert anonymous.status_code == 302 and anonymous.url.startswith(SIGN_IN)


def test_editing_an_unknown_indicator_is_a_404(client_for, staff):
    assert client_for(staff).get("/indicators/no-such-code/edit/").status_code == 404


# Who reaches which page ---------------------------------------------------------------------

DATA_PAGES = ["/data/", "/data/form/", "/data/upload/", "/data/template.csv", "/data/values/"]


@pytest.mark.parametrize("path", [*DATA_PAGES, "/data/review/", "/data/populations/", "/data/submissions/1/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith(SIGN_IN)


@pytest.mark.parametrize("path", DATA_PAGES)
def test_data_submitters_reach_the_submitting_pages_and_others_get_403(client_for, provider, commissioner, path):
    assert client_for(provider).get(path).status_code == 200
    assert client_for(commissioner).get(path).status_code == 403


def test_only_commissioners_for_some_borough_reach_the_review_queue(client_for, commissioner, provider, outsider):
    assert client_for(commissioner).get("/data/review/").status_code == 200
    assert client_for(provider).get("/data/review/").status_code == 403
    # A commissioner role in a provider organisation reviews nothing.
    assert client_for(outsider).get("/data/review/").status_code == 403
    assert client_for(provider).post("/data/review/", {"values": [1], "action": "approve"}).status_code == 403


def test_only_staff_reach_the_populations_page(client_for, staff, provider, commissioner):
    assert client_for(staff).get("/data/populations/").status_code == 200
    assert client_for(provider).get("/data/populations/").status_code == 403
    assert client_for(commissioner).get("/data/populations/").status_code == 403


def test_another_organisations_submission_is_a_404(client_for, provider, other_org, outsider, commissioner):
    theirs = SubmissionFactory(
        organisation=other_org, submitted_by=outsider, door=Door.CSV, status=Submission.Status.COMPLETED
    )
    ours = SubmissionFactory(
        organisation=provider.memberships.get().organisation,
        submitted_by=provider,
        door=Door.CSV,
        status=Submission.Status.COMPLETED,
    )
    client = client_for(provider)
    assert client.get(f"/data/submissions/{ours.pk}/").status_code == 200
    assert client.get(f"/data/submissions/{theirs.pk}/").status_code == 404
    assert client.get(f"/data/submissions/{theirs.pk}/progress/").status_code == 404
    assert client.get("/data/submissions/999999/").status_code == 404
    # Commissioners review values, not the submissions that carried them.
    assert client_for(commissioner).get(f"/data/submissions/{ours.pk}/").status_code == 404


def test_the_header_offers_data_links_by_role(client_for, provider, commissioner, service_user):
    assert "Submit data" in client_for(provider).get("/").text
    assert "Review data" not in client_for(provider).get("/").text
    assert "Review data" in client_for(commissioner).get("/").text
    home = client_for(service_user).get("/").text
    assert "Indicators" in home and "Submit data" not in home and "Review data" not in home


# The web form -----------------------------------------------------------------------------


def test_a_provider_submits_through_the_web_form_and_sees_created_counts(client_for, provider, provider_org, recovery):
    make_values(provider_org, provider, recovery, ["CMD"], [dt.date(2025, 2, 1)], numerator=31, denominator=77)
    client = client_for(provider)
    step1 = client.get("/data/form/")
    assert "Submitting for" in step1.text and "Provider Trust (test)" in step1.text

    grid = client.get("/data/form/", {"indicator": "test-recovery", "period": "2025-03"})
    assert grid.status_code == 200
    assert "Camden" in grid.text
    assert "31 / 77" in grid.text  # the previous period (2025-02) beside the row

    response = client.post(
        "/data/form/?indicator=test-recovery&period=2025-03", {"num_CMD": "45", "den_CMD": "60", "note_CMD": ""}
    )
    submission = Submission.objects.get(door=Door.FORM)
    assert response.status_code == 302 and response.url == f"/data/submissions/{submission.pk}/"
    report = client.get(response.url)
    assert report_counts(report.text)["created"] == 1
    value = OutcomeValue.objects.get(period_start=dt.date(2025, 3, 1))
    assert (value.numerator, value.denominator, value.borough.short_code) == (45, 60, "CMD")

    # Back on the grid, this period's value is filled in.
    again = client.get("/data/form/", {"indicator": "test-recovery", "period": "2025-03"})
    assert 'value="45"' in again.text and 'value="60"' in again.text


def test_web_form_errors_are_reported_by_borough(client_for, provider, provider_org, recovery):
    provider_org.boroughs.add(borough("ISL"))
    response = client_for(provider).post(
        "/data/form/?indicator=test-recovery&period=2025-03",
        {"num_CMD": "", "den_CMD": "", "num_ISL": "70", "den_ISL": "60"},
    )
    # The row comes back on the same form (not a report to read and retype), its problem beside it.
    assert response.status_code == 200
    assert "Islington (row 2): The numerator 70 is above the denominator 60." in response.text
    submission = Submission.objects.get()
    report = client_for(provider).get(submission.get_absolute_url()).text
    # Camden was left blank but is still row 1 of the form, so Islington is row 2, as on the page.
    assert "numerator_above_denominator" in report
    assert re.search(
        r"<td[^>]*>(<span[^>]*>Row </span>)?2</td>\s*<td[^>]*>(<span[^>]*>Borough </span>)?Islington</td>", report
    )
    assert not OutcomeValue.objects.exists()
    # "Save the form again" goes back to the same grid.
    assert f"/data/form/?organisation={provider_org.pk}&amp;indicator=test-recovery&amp;period=2025-03" in report


def test_a_submitter_for_two_organisations_chooses_which_one(client_for, provider, other_org, recovery):
    MembershipFactory(user=provider, organisation=other_org, role=Role.DATA_SUBMITTER)
    client = client_for(provider)
    unchosen = client.get("/data/form/", {"indicator": "test-recovery", "period": "2025-03"}).text
    assert "Choose an organisation" in unchosen and "There is a problem" in unchosen
    grid = client.get("/data/form/", {"organisation": other_org.pk, "indicator": "test-recovery", "period": "2025-03"})
    assert "Lambeth" in grid.text and "Camden" not in grid.text


def test_nobody_submits_for_an_organisation_they_do_not_belong_to(client_for, provider, other_org, recovery):
    client = client_for(provider)
    grid = client.get("/data/form/", {"organisation": other_org.pk, "indicator": "test-recovery", "period": "2025-03"})
    assert "Select a valid choice" in grid.text
    response = upload(client, f"{HEADER}\ntest-recovery,{LAMBETH},2025-03,1,2,\n", organisation=other_org.pk)
    assert response.status_code == 200 and "Select a valid choice" in response.text
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2025-13", "Enter the period as a month, for example 2026-04"),
        ("2025-Q1", "Enter the period as a month"),
        ("2999-01", "has not ended yet"),
    ],
)
def test_the_web_form_explains_a_wrong_period(client_for, provider, recovery, period, message):
    response = client_for(provider).get("/data/form/", {"indicator": "test-recovery", "period": period})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text


def test_the_web_form_needs_at_least_one_value(client_for, provider, recovery):
    response = client_for(provider).post("/data/form/?indicator=test-recovery&period=2025-03", {"num_CMD": ""})
    assert response.status_code == 200
    assert "Enter at least one value" in response.text
    assert not Submission.objects.exists()


def test_the_web_form_offers_only_active_indicators(client_for, provider, recovery):
    recovery.is_active = False
    recovery.save()
    response = client_for(provider).get("/data/form/", {"indicator": "test-recovery", "period": "2025-03"})
    assert "Choose an indicator from the list" in response.text


def test_approved_values_stay_locked_unless_the_form_says_it_amends_them(client_for, provider, provider_org, recovery):
    (value,) = make_values(
        provider_org, provider, recovery, ["CMD"], [dt.date(2025, 3, 1)], status=ValueStatus.APPROVED
    )
    client = client_for(provider)
    url = "/data/form/?indicator=test-recovery&period=2025-03"
    grid = client.get(url).text
    assert "Approved (locked)" in grid and "These changes amend approved values" in grid

    locked = client.post(url, {"num_CMD": "41", "den_CMD": "80"}).text
    assert "Camden (row 1): This value was approved and is locked." in locked
    assert 'value="41"' in locked  # what was typed is kept
    value.refresh_from_db()
    assert value.numerator == 40

    client.post(url, {"num_CMD": "41", "den_CMD": "80", "amend_approved": "on"})
    value.refresh_from_db()
    assert (value.numerator, value.status) == (41, ValueStatus.SUBMITTED)


# CSV upload -------------------------------------------------------------------------------


def test_a_provider_uploads_a_csv_and_sees_created_counts(client_for, provider, recovery, contacts):
    client = client_for(provider)
    text = f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,45,60,\ntest-contacts,{CAMDEN},2025-Q1,120,,first quarter\n"
    response = upload(client, text)
    assert response.status_code == 302
    report = client.get(response.url)
    assert report.status_code == 200
    assert report_counts(report.text) == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0, "warnings": 0}
    assert "values.csv" in report.text
    assert Submission.objects.get().checksum in report.text
    assert OutcomeValue.objects.count() == 2


def test_an_upload_with_a_bad_row_shows_its_row_number_and_code(client_for, provider, recovery):
    client = client_for(provider)
    text = f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,45,60,\nno-such-indicator,{CAMDEN},2025-03,1,2,\n"
    report = client.get(upload(client, text).url).text
    assert report_counts(report)["created"] == 1 and report_counts(report)["rejected"] == 1
    assert re.search(r"<td[^>]*>(<span[^>]*>Row </span>)?3</td>", report)  # line 3 of the file
    assert "unknown_indicator" in report


def test_uploading_the_same_file_again_reports_every_row_unchanged(client_for, provider, recovery):
    client = client_for(provider)
    text = f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,45,60,\ntest-recovery,{CAMDEN},2025-04,46,61,\n"
    upload(client, text)
    report = client.get(upload(client, text).url).text
    assert report_counts(report) == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0, "warnings": 0}


def test_a_file_over_the_size_limit_gets_a_413_and_changes_nothing(client_for, provider, recovery, settings):
    settings.OUTCOMES_MAX_UPLOAD_BYTES = 64
    text = f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,45,60,a note long enough to pass the limit\n"
    response = upload(client_for(provider), text)
    assert response.status_code == 413
    assert "the most is 64 bytes" in response.text
    assert not Submission.objects.exists() and not OutcomeValue.objects.exists()


def test_a_trial_run_saves_nothing(client_for, provider, recovery):
    client = client_for(provider)
    report = client.get(upload(client, f"{HEADER}\ntest-recovery,{CAMDEN},2025-03,45,60,\n", dry_run="on").url)
    assert "Trial run: nothing saved" in report.text
    assert report_counts(report.text)["created"] == 1
    assert not OutcomeValue.objects.exists()


def test_an_upload_without_a_file_explains_itself(client_for, provider):
    response = client_for(provider).post("/data/upload/", {})
    assert response.status_code == 200
    assert "Choose a CSV file to upload" in response.text


def test_the_template_csv_downloads_with_the_right_header(client_for, provider, recovery):
    response = client_for(provider).get("/data/template.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0] == TEMPLATE_HEADER
    assert lines[1].startswith(f"test-recovery,{CAMDEN},")


# Import reports -----------------------------------------------------------------------------


def test_the_report_pages_its_errors_a_hundred_at_a_time(client_for, provider, recovery):
    client = client_for(provider)
    rows = "".join(
        f"test-recovery,{CAMDEN},{m:%Y-%m},x{i},60,\n" for i, m in enumerate(months(150, dt.date(2010, 1, 1)))
    )
    url = upload(client, f"{HEADER}\n{rows}").url
    first = client.get(url).text
    assert "150 errors" in first
    assert first.count("numerator_invalid") == 100
    second = client.get(url, {"errors_page": 2}).text
    assert second.count("numerator_invalid") == 50


def test_a_running_import_shows_a_progress_bar_that_htmx_polls(client_for, provider, provider_org):
    submission = SubmissionFactory(
        organisation=provider_org,
        submitted_by=provider,
        door=Door.CSV,
        status=Submission.Status.RUNNING,
        total_rows=1000,
    )
    ingest.publish_progress(submission.pk, 400, "writing")
    client = client_for(provider)
    page = client.get(f"/data/submissions/{submission.pk}/").text
    assert "400 of 1,000 rows done (40%)" in page
    assert f'hx-get="/data/submissions/{submission.pk}/progress/"' in page
    assert 'hx-trigger="every 2s"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "htmx.min" in page

    partial = client.get(f"/data/submissions/{submission.pk}/progress/")
    assert "400 of 1,000 rows done" in partial.text and "<html" not in partial.text

    Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.COMPLETED, processed_rows=1000)
    finished = client.get(f"/data/submissions/{submission.pk}/progress/")
    assert finished["HX-Refresh"] == "true"
    assert "refresh" not in client.get(f"/data/submissions/{submission.pk}/").text.split("<body")[0]


def test_a_file_level_problem_is_reported_without_counts(client_for, provider):
    client = client_for(provider)
    report = client.get(upload(client, "indicator_code;borough_code;period\n").url).text
    assert "Rejected" in report
    assert "semicolons" in report
    assert "Whole file" not in report  # the header problem names row 1


# Our values and review ----------------------------------------------------------------------


def test_our_values_shows_only_our_organisations_values_with_filters(
    client_for, provider, provider_org, other_org, outsider, recovery, contacts
):
    make_values(provider_org, provider, recovery, ["CMD"], [dt.date(2025, 3, 1)])
    make_values(provider_org, provider, contacts, ["CMD"], [dt.date(2025, 1, 1)], numerator=999)
    make_values(other_org, outsider, recovery, ["LAM"], [dt.date(2025, 3, 1)])
    client = client_for(provider)
    page = client.get("/data/values/").text
    assert "2 values" in page and "Lambeth" not in page
    filtered = client.get("/data/values/", {"indicator": "test-contacts", "period": "2025-Q1"}).text
    assert "1 value" in filtered and "999" in filtered
    assert "No values found" in client.get("/data/values/", {"period": "2025-02"}).text
    assert "Enter a period like" in client.get("/data/values/", {"period": "March"}).text


def test_any_status_is_offered_once_on_our_values_and_once_on_the_review_queue(client_for, provider, commissioner):
    values_page = client_for(provider).get("/data/values/").text
    assert values_page.count(">Any status</option>") == 1
    queue = client_for(commissioner).get("/data/review/").text
    assert queue.count(">Any status</option>") == 1
    assert ">Waiting for review (submitted or queried)</option>" in queue


def test_a_commissioner_approves_two_values_at_once_and_queries_one_for_the_provider_to_see(
    client_for, commissioner, provider, provider_org, recovery
):
    values = make_values(provider_org, provider, recovery, ["CMD"], months(3, dt.date(2025, 1, 1)))
    client = client_for(commissioner)
    queue = client.get("/data/review/").text
    assert "3 values" in queue

    response = client.post("/data/review/", {"values": [values[0].pk, values[1].pk], "action": "approve"})
    assert response.status_code == 302
    assert "2 values approved." in client.get(response.url).text
    response = client.post(
        "/data/review/", {"values": [values[2].pk], "action": "query", "message": "Denominator looks doubled"}
    )
    assert response.status_code == 302
    statuses = dict(OutcomeValue.objects.values_list("pk", "status"))
    assert [statuses[v.pk] for v in values] == [ValueStatus.APPROVED, ValueStatus.APPROVED, ValueStatus.QUERIED]
    # The default queue shows what still waits: the queried value.
    assert "1 value" in client.get("/data/review/").text

    ours = client_for(provider).get("/data/values/", {"status": ValueStatus.QUERIED}).text
    assert "Denominator looks doubled" in ours


def test_a_query_needs_a_message_and_changes_nothing_without_one(
    client_for, commissioner, provider, provider_org, recovery
):
    (value,) = make_values(provider_org, provider, recovery, ["CMD"], [dt.date(2025, 3, 1)])
    response = client_for(commissioner).post("/data/review/", {"values": [value.pk], "action": "query"})
    assert response.status_code == 200
    assert "Say what the provider should check" in response.text
    assert f'value="{value.pk}" checked' in response.text  # the selection survives the error
    value.refresh_from_db()
    assert value.status == ValueStatus.SUBMITTED


def test_reviewing_needs_a_selection(client_for, commissioner):
    response = client_for(commissioner).post("/data/review/", {"action": "approve"})
    assert "Select at least one value" in response.text


def test_a_commissioner_cannot_review_values_outside_their_boroughs(
    client_for, commissioner, other_org, outsider, recovery
):
    (theirs,) = make_values(other_org, outsider, recovery, ["LAM"], [dt.date(2025, 3, 1)])
    client = client_for(commissioner)
    assert "Lambeth" not in client.get("/data/review/", {"status": "any"}).text
    response = client.post("/data/review/", {"values": [theirs.pk], "action": "approve"})
    assert "0 values approved" in client.get(response.url).text
    theirs.refresh_from_db()
    assert theirs.status == ValueStatus.SUBMITTED


def test_the_review_queue_filters_by_borough_and_status(client_for, commissioner, provider, provider_org, recovery):
    provider_org.boroughs.add(borough("ISL"))
    make_values(provider_org, provider, recovery, ["CMD"], [dt.date(2025, 3, 1)])
    make_values(provider_org, provider, recovery, ["ISL"], [dt.date(2025, 3, 1)], status=ValueStatus.APPROVED)
    client = client_for(commissioner)
    assert "1 value" in client.get("/data/review/").text  # approved values are not waiting
    everything = client.get("/data/review/", {"status": "any"}).text
    assert "2 values" in everything
    islington = client.get("/data/review/", {"status": "any", "borough": ISLINGTON}).text
    assert "1 value" in islington and "Islington" in islington
    # Only values still waiting can be selected: approved ones have no checkbox.
    assert everything.count('name="values"') == 1


# Populations --------------------------------------------------------------------------------


def test_staff_upload_populations_and_see_them(client_for, staff):
    client = client_for(staff)
    csv_file = SimpleUploadedFile("pop.csv", f"area_code,year,population\n{CAMDEN},2024,212345\n".encode())
    response = client.post("/data/populations/", {"file": csv_file})
    assert response.status_code == 302
    assert Population.objects.get(area__code=CAMDEN, year=2024).population == 212_345
    assert "212,345" in client.get("/data/populations/").text


def test_a_bad_populations_file_lists_its_problems_and_saves_nothing(client_for, staff):
    csv_file = SimpleUploadedFile("pop.csv", b"area_code,year,population\nNOWHERE,2024,5\n")
    response = client_for(staff).post("/data/populations/", {"file": csv_file})
    assert response.status_code == 200
    assert "Row 2" in response.text and "NOWHERE" in response.text
    assert not Population.objects.filter(year=2024).exists()


# Query counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 15])
def test_the_catalogue_runs_a_fixed_number_of_queries(client, django_assert_num_queries, count):
    Indicator.objects.bulk_create(
        Indicator(code=f"ind-{i}", name=f"Indicator {i}", definition="d", measure=Measure.COUNT, period_type="month")
        for i in range(count)
    )
    # count, the page of indicators (anonymous: no session, user or header queries)
    with django_assert_num_queries(2):
        assert client.get("/indicators/").status_code == 200


@pytest.mark.parametrize("count", [2, 25])
def test_the_submissions_list_runs_a_fixed_number_of_queries(
    client_for, provider, provider_org, django_assert_num_queries, count
):
    Submission.objects.bulk_create(
        Submission(organisation=provider_org, submitted_by=provider, door=Door.CSV, status="completed")
        for _ in range(count)
    )
    client = client_for(provider)
    # session, user, can_submit, the organisations with borough counts, count of submissions,
    # the header's data links, the header's unread-notification count, the page of submissions
    # with organisation and submitter, and saving the session (savepoint, update, release:
    # SESSION_SAVE_EVERY_REQUEST)
    with django_assert_num_queries(11):
        assert client.get("/data/").status_code == 200


@pytest.mark.parametrize("periods", [2, 40])
def test_the_review_queue_runs_a_fixed_number_of_queries(
    client_for, commissioner, provider, provider_org, recovery, contacts, django_assert_num_queries, periods
):
    provider_org.boroughs.add(borough("ISL"))
    make_values(provider_org, provider, recovery, ["CMD", "ISL"], months(periods))
    client = client_for(commissioner)
    # session, user, can_review, count of values, the header's data links, the header's
    # unread-notification count, the page of values with indicator, borough and organisation,
    # the indicator choices, the borough choices, the page's context (previous periods, London,
    # unusual values: one query), and saving the session (savepoint, update, release:
    # SESSION_SAVE_EVERY_REQUEST)
    with django_assert_num_queries(13):
        assert client.get("/data/review/").status_code == 200


def test_the_data_hub_names_a_submission_report_by_who_submitted_not_its_id(client_for, provider, provider_org):
    submission = SubmissionFactory(organisation=provider_org, submitted_by=provider, door=Door.API)
    html = client_for(provider).get("/data/").text
    assert f": report on the submission by {provider.display_name}<" in html
    assert f"for submission {submission.pk}<" not in html
