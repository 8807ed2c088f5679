"""Partnership decisions with recorded views (issue 22): stances, outcomes, the log, meetings, the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from actionplan.models import Notification
from commissioning import services
from commissioning.decisions import services as decisions
from commissioning.decisions.models import Decision, Stance
from commissioning.models import PartnershipScope
from kernel.concurrency import StaleEdit
from stakeholders.models import OrganisationType, Role
from tests.api.helpers import assert_problem
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def council(db):
    return OrganisationFactory(name="Camden Council (test)", type=OrganisationType.LA_COMMISSIONER, boroughs=["CMD"])


@pytest.fixture
def tom(council):
    """A commissioner of the second member organisation."""
    return MembershipFactory(organisation=council, role=Role.COMMISSIONER, user__display_name="Tom Council").user


@pytest.fixture
def partnership(commissioning_org, council):
    return services.partnership_create(
        actor=None,
        name="Decisions (test)",
        scope=PartnershipScope.PAN_LONDON,
        lead=commissioning_org,
        members=[council],
    )


@pytest.fixture
def proposal(partnership, commissioner):
    return decisions.decision_propose(
        actor=commissioner,
        partnership=partnership,
        title="Share one waiting list",
        text="Publish **one** report.",
        options=["Monthly", "Quarterly"],
        deadline=timezone.localdate() + dt.timedelta(days=10),
    )


def _outcome(decision, **values):
    decision.refresh_from_db()
    return decisions.decision_record_outcome(actor=None, decision=decision, expected_version=decision.version, **values)


def test_a_proposal_carried_over_from_paper_minutes_keeps_its_date_but_not_a_future_one(partnership, commissioner):
    earlier = timezone.now() - dt.timedelta(days=40)
    carried = decisions.decision_propose(
        actor=commissioner,
        partnership=partnership,
        title="Carried over",
        text="From the March minutes.",
        proposed_at=earlier,
    )
    assert carried.created_at == earlier
    with pytest.raises(ValidationError, match="future"):
        decisions.decision_propose(
            actor=commissioner,
            partnership=partnership,
            title="Not yet",
            text="x",
            proposed_at=timezone.now() + dt.timedelta(days=1),
        )


# Stances -------------------------------------------------------------------------------------


def test_anyone_of_a_member_organisation_records_its_stance_and_nobody_else(
    proposal, council, commissioning_org, outsider
):
    clinician = MembershipFactory(organisation=council, role=Role.CLINICIAN).user
    stance = decisions.stance_record(actor=clinician, decision=proposal, organisation=council, stance="agree")
    assert (stance.organisation, stance.user) == (council, clinician)
    with pytest.raises(PermissionDenied):
        # A member's person speaks only for their own organisation.
        decisions.stance_record(actor=clinician, decision=proposal, organisation=commissioning_org, stance="agree")
    with pytest.raises(PermissionDenied):
        decisions.stance_record(actor=outsider, decision=proposal, organisation=council, stance="agree")
    with pytest.raises(PermissionDenied):
        decisions.stance_record(
            actor=UserFactory(is_staff=True), decision=proposal, organisation=council, stance="agree"
        )


@pytest.mark.parametrize("stance", ["disagree", "block"])
def test_dissent_needs_a_reason(proposal, tom, council, stance):
    with pytest.raises(ValidationError, match="Say why"):
        decisions.stance_record(actor=tom, decision=proposal, organisation=council, stance=stance, reason="  ")
    assert not Stance.objects.exists()


def test_a_preferred_option_must_be_one_of_the_proposals(proposal, tom, council):
    with pytest.raises(ValidationError, match="options"):
        decisions.stance_record(
            actor=tom, decision=proposal, organisation=council, stance="agree", preferred_option="Weekly"
        )
    stance = decisions.stance_record(
        actor=tom, decision=proposal, organisation=council, stance="agree", preferred_option="Monthly"
    )
    assert stance.preferred_option == "Monthly"


def test_changing_a_stance_keeps_one_current_view_and_the_earlier_in_history(proposal, tom, council, client_for):
    decisions.stance_record(actor=tom, decision=proposal, organisation=council, stance="agree")
    decisions.stance_record(actor=tom, decision=proposal, organisation=council, stance="disagree", reason="Too slow")
    assert list(Stance.objects.values_list("stance", flat=True)) == ["disagree"]
    history = Stance.pgh_event_model.objects.filter(decision_id=proposal.pk).order_by("pgh_id")
    assert [e.stance for e in history] == ["agree", "disagree"]
    page = client_for(None).get(proposal.get_absolute_url()).content.decode()
    assert "Camden Council (test): agree" in page and "disagree (“Too slow”)" in page


def test_views_close_after_the_deadline_and_once_the_outcome_is_recorded(
    proposal, tom, council, commissioning_org, time_machine
):
    time_machine.move_to(proposal.deadline + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="deadline has passed"):
        decisions.stance_record(actor=tom, decision=proposal, organisation=council, stance="agree")
    time_machine.move_to(proposal.deadline)  # the deadline day itself is still open
    decisions.stance_record(actor=tom, decision=proposal, organisation=council, stance="agree")
    _outcome(proposal, status="agreed", owner=commissioning_org)
    with pytest.raises(ValidationError, match="outcome is recorded"):
        decisions.stance_record(actor=tom, decision=proposal, organisation=council, stance="block", reason="Late")


# Outcomes ------------------------------------------------------------------------------------


def test_the_status_moves_only_along_the_pipeline(proposal, commissioning_org):
    with pytest.raises(ValidationError, match="Choose the member"):
        _outcome(proposal, status="agreed")
    _outcome(proposal, status="agreed", owner=commissioning_org)
    with pytest.raises(ValidationError, match="can become done, rescinded"):
        _outcome(proposal, status="proposed", owner=commissioning_org)
    _outcome(proposal, status="done", owner=commissioning_org, outcome="Published.")
    with pytest.raises(ValidationError, match="can become nothing"):
        _outcome(proposal, status="rescinded", owner=commissioning_org)
    proposal.refresh_from_db()
    assert proposal.status == "done" and proposal.decided_at is not None


def test_a_stale_outcome_is_refused_not_overwritten(proposal, commissioning_org):
    decisions.decision_record_outcome(
        actor=None, decision=proposal, expected_version=1, status="agreed", owner=commissioning_org
    )
    with pytest.raises(StaleEdit):
        decisions.decision_record_outcome(actor=None, decision=proposal, expected_version=1, status="not_agreed")
    proposal.refresh_from_db()
    assert proposal.status == "agreed"


# Notifications -------------------------------------------------------------------------------


def test_who_is_told_of_a_proposal_a_block_an_outcome_and_minutes(
    partnership, commissioner, tom, council, commissioning_org
):
    clinician = MembershipFactory(organisation=council, role=Role.CLINICIAN).user
    decision = decisions.decision_propose(actor=commissioner, partnership=partnership, title="Merge", text="x")
    assert set(Notification.objects.filter(kind="decision").values_list("recipient", flat=True)) == {
        tom.pk,
        clinician.pk,
    }
    Notification.objects.all().delete()
    decisions.stance_record(actor=clinician, decision=decision, organisation=council, stance="block", reason="No")
    # Managers only: the commissioners of the members (not the clinician who blocked).
    told = Notification.objects.filter(kind="decision").order_by("recipient_id")
    assert [n.recipient for n in told] == sorted([commissioner, tom], key=lambda u: u.pk)
    assert told[0].url == decision.get_absolute_url()
    assert "blocks" in told[0].text and "Reason: No" in told[0].text
    Notification.objects.all().delete()
    _outcome(decision, status="not_agreed")
    assert Notification.objects.filter(kind="decision").count() == 3
    meeting = decisions.meeting_create(
        actor=commissioner,
        partnership=partnership,
        date=dt.date(2026, 5, 1),
        title="Board",
        attendees=[commissioner, tom],
    )
    assert not Notification.objects.filter(kind="minutes").exists()
    decisions.meeting_update(actor=commissioner, meeting=meeting, expected_version=1, minutes="We met.")
    assert list(Notification.objects.filter(kind="minutes").values_list("recipient", flat=True)) == [tom.pk]


def test_attendees_come_from_member_organisations(partnership, commissioner, outsider):
    with pytest.raises(ValidationError, match="also attending"):
        decisions.meeting_create(
            actor=commissioner, partnership=partnership, date=dt.date(2026, 5, 1), title="Board", attendees=[outsider]
        )


# The decisions log ---------------------------------------------------------------------------


@pytest.fixture
def log(partnership, commissioner, tom, council, commissioning_org):
    """Four hand-built decisions: open, agreed with dissent and overdue, done, not agreed at a meeting."""
    today = timezone.localdate()
    meeting = decisions.meeting_create(actor=None, partnership=partnership, date=dt.date(2026, 5, 1), title="Board")

    def make(title, **kw):
        return decisions.decision_propose(actor=None, partnership=partnership, title=title, text=f"{title} text.", **kw)

    open_ = make("Open crisis cafe")
    dissent = make("Fund peer support")
    decisions.stance_record(actor=tom, decision=dissent, organisation=council, stance="disagree", reason="Costs")
    _outcome(dissent, status="agreed", owner=council, due_date=today - dt.timedelta(days=3))
    done = make("Publish terms")
    _outcome(done, status="agreed", owner=commissioning_org, due_date=today + dt.timedelta(days=30))
    _outcome(done, status="done", owner=commissioning_org, due_date=today + dt.timedelta(days=30))
    refused = make("Close the beds", meeting=meeting)
    _outcome(refused, status="not_agreed")
    return {"open": open_, "dissent": dissent, "done": done, "refused": refused, "meeting": meeting}


def _titles(client, partnership, **params):
    response = client.get(f"/commissioning/partnerships/{partnership.slug}/decisions/", params)
    assert response.status_code == 200
    page = response.content.decode()
    return {t for t in ("Open crisis cafe", "Fund peer support", "Publish terms", "Close the beds") if t in page}


def test_the_log_filters_by_status_owner_meeting_due_date_and_words(client_for, partnership, log, council):
    client = client_for(None)
    assert len(_titles(client, partnership)) == 4
    assert _titles(client, partnership, status="proposed") == {"Open crisis cafe"}
    assert _titles(client, partnership, status="dissent") == {"Fund peer support"}
    assert _titles(client, partnership, status="overdue") == {"Fund peer support"}
    assert _titles(client, partnership, owner=council.pk) == {"Fund peer support"}
    assert _titles(client, partnership, meeting=log["meeting"].pk) == {"Close the beds"}
    later = timezone.localdate() + dt.timedelta(days=1)
    due = {"due_before_day": later.day, "due_before_month": later.month, "due_before_year": later.year}
    assert _titles(client, partnership, **due) == {"Fund peer support"}
    assert _titles(client, partnership, q="beds close") == {"Close the beds"}
    page = client.get(
        f"/commissioning/partnerships/{partnership.slug}/decisions/", {"q": "nothing like it"}
    ).content.decode()
    assert "No decision matches these filters" in page


def test_dissent_stays_visible_after_the_outcome(client_for, partnership, log):
    page = client_for(None).get(f"/commissioning/partnerships/{partnership.slug}/decisions/").content.decode()
    assert "With dissent" in page and "Overdue" in page
    detail = client_for(None).get(log["dissent"].get_absolute_url()).content.decode()
    assert "Costs" in detail and "1 disagree" in detail and "Agreed" in detail


def test_the_log_downloads_as_csv(client_for, partnership, log):
    response = client_for(None).get(
        f"/commissioning/partnerships/{partnership.slug}/decisions/", {"format": "csv", "status": "dissent"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("id,title,status") and len(rows) == 2
    assert "Fund peer support" in rows[1] and ",yes," in rows[1]


def test_an_empty_log_says_so(client_for, partnership, commissioner):
    page = client_for(commissioner).get(f"/commissioning/partnerships/{partnership.slug}/decisions/").content.decode()
    assert "has not recorded any decisions yet" in page and "Propose the first one" in page


# Pages: allowed, 403, 404, stale ---------------------------------------------------------------


def test_recording_a_stance_on_the_page(client_for, proposal, tom, provider, council):
    url = proposal.get_absolute_url()
    page = client_for(tom).get(url).content.decode()
    assert "Record your organisation's view" in page and "Camden Council (test)" in page
    response = client_for(tom).post(url, {"organisation": council.pk, "stance": "disagree", "reason": ""})
    assert response.status_code == 200 and "There is a problem" in response.content.decode()
    assert client_for(provider).post(url, {"organisation": council.pk, "stance": "agree"}).status_code == 403
    assert client_for(None).post(url, {"stance": "agree"}).status_code == 302
    response = client_for(tom).post(url, {"organisation": council.pk, "stance": "disagree", "reason": "Too slow"})
    assert response.status_code == 302
    assert Stance.objects.get().reason == "Too slow"
    assert "Record your organisation's view" not in client_for(provider).get(url).content.decode()


def test_only_managers_record_the_outcome_and_a_stale_form_shows_the_conflict(
    client_for, proposal, commissioner, tom, provider, commissioning_org
):
    url = f"{proposal.get_absolute_url()}outcome/"
    assert client_for(provider).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 302
    form = {"status": "agreed", "owner": commissioning_org.pk, "outcome": "Agreed.", "version": 1}
    assert client_for(tom).post(url, form).status_code == 302  # Tom commissions for a member: a manager too
    response = client_for(commissioner).post(url, {**form, "status": "not_agreed"})
    assert response.status_code == 409
    assert "changed this while you were editing" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "agreed"
    other = services.partnership_create(
        actor=None, name="Other", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org
    )
    assert (
        client_for(commissioner)
        .get(f"/commissioning/partnerships/{other.slug}/decisions/{proposal.pk}/outcome/")
        .status_code
        == 404
    )


def test_a_meeting_page_and_its_stale_edit(client_for, partnership, commissioner, tom, provider):
    meeting = decisions.meeting_create(
        actor=commissioner,
        partnership=partnership,
        date=dt.date(2026, 5, 1),
        title="Board",
        agenda="1. **Crisis** care",
        attendees=[tom],
        also_attending="Sam Rivers, service user representative",
    )
    page = client_for(None).get(meeting.get_absolute_url()).content.decode()
    assert "<strong>Crisis</strong>" in page and "Tom Council" in page and "Sam Rivers" in page
    edit = f"{meeting.get_absolute_url()}edit/"
    assert client_for(provider).get(edit).status_code == 403
    page = client_for(commissioner).get(edit).content.decode()
    assert 'name="date_day"' in page and "Tom Council (Camden Council (test))" in page
    form = {
        "date_day": "1",
        "date_month": "5",
        "date_year": "2026",
        "title": "Board",
        "minutes": "Met.",
        "version": "1",
    }
    assert client_for(commissioner).post(edit, {**form, "attendees": [tom.pk]}).status_code == 302
    assert client_for(tom).post(edit, {**form, "title": "Old title"}).status_code == 409
    meeting.refresh_from_db()
    assert (meeting.title, meeting.minutes, meeting.version) == ("Board", "Met.", 2)


# API -----------------------------------------------------------------------------------------


def test_the_api_proposes_records_stances_and_the_outcome_with_if_match(
    client_for, partnership, commissioner, tom, council, commissioning_org, outsider
):
    body = {"partnership": partnership.slug, "title": "Merge reports", "text": "One report.", "options": ["A", "B"]}
    assert_problem(client_for(outsider).post("/api/v1/partnership-decisions/", body, content_type=JSON), 403)
    created = client_for(commissioner).post("/api/v1/partnership-decisions/", body, content_type=JSON)
    assert created.status_code == 201, created.content
    url = f"/api/v1/partnership-decisions/{created.json()['id']}/"
    stances = f"{url}stances/"
    assert_problem(client_for(outsider).post(stances, {"stance": "agree"}, content_type=JSON), 403)
    assert_problem(client_for(tom).post(stances, {"stance": "block"}, content_type=JSON), 400)
    response = client_for(tom).post(
        stances, {"stance": "block", "reason": "Not ready", "preferred_option": "B"}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tallies"] == {"agree": 0, "abstain": 0, "disagree": 0, "block": 1} and body["with_dissent"]
    assert body["stances"][0]["reason"] == "Not ready" and body["not_responded"] == [commissioning_org.slug]
    etag = client_for(None).get(url)["ETag"]
    outcome = {"status": "not_agreed", "outcome": "Blocked by Camden."}
    assert_problem(client_for(commissioner).patch(url, outcome, content_type=JSON), 428)
    assert_problem(client_for(tom).patch(url, outcome, content_type=JSON, headers={"If-Match": '"v0"'}), 412)
    response = client_for(commissioner).patch(url, outcome, content_type=JSON, headers={"If-Match": etag})
    assert response.status_code == 200, response.content
    assert_problem(client_for(commissioner).patch(url, outcome, content_type=JSON, headers={"If-Match": etag}), 412)
    listed = (
        client_for(None)
        .get("/api/v1/partnership-decisions/", {"partnership": partnership.slug, "status": "dissent"})
        .json()
    )
    assert [d["status"] for d in listed["results"]] == ["not_agreed"]
    assert_problem(client_for(tom).post(stances, {"stance": "agree"}, content_type=JSON), 400)


def test_the_api_manages_meetings_with_agenda_minutes_and_attendees(
    client_for, partnership, commissioner, tom, provider
):
    body = {
        "partnership": partnership.slug,
        "date": "2026-05-01",
        "title": "Board",
        "agenda": "1. Budget",
        "attendees": [tom.pk],
    }
    assert_problem(client_for(provider).post("/api/v1/partnership-meetings/", body, content_type=JSON), 403)
    created = client_for(commissioner).post("/api/v1/partnership-meetings/", body, content_type=JSON)
    assert created.status_code == 201, created.content
    url = f"/api/v1/partnership-meetings/{created.json()['id']}/"
    got = client_for(None).get(url)
    assert got.json()["attendee_names"] == ["Tom Council"] and got["ETag"] == '"v1"'
    assert_problem(
        client_for(provider).patch(url, {"minutes": "x"}, content_type=JSON, headers={"If-Match": '"v1"'}), 403
    )
    response = client_for(commissioner).patch(
        url, {"minutes": "We met."}, content_type=JSON, headers={"If-Match": '"v1"'}
    )
    assert response.status_code == 200 and "<p>We met.</p>" in response.json()["minutes_html"]
    assert_problem(
        client_for(commissioner).patch(url, {"title": "x"}, content_type=JSON, headers={"If-Match": '"v1"'}), 412
    )
    assert Notification.objects.filter(kind="minutes", recipient=tom).exists()


def test_decisions_keep_their_place_in_history(proposal, commissioning_org):
    _outcome(proposal, status="agreed", owner=commissioning_org)
    assert [e.status for e in Decision.pgh_event_model.objects.filter(pgh_obj_id=proposal.pk).order_by("pgh_id")] == [
        "proposed",
        "agreed",
    ]
