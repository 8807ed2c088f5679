"""Plan pages: every view answers allowed, 403 (can see, may not write) and 404 (stranger)."""

from __future__ import annotations

import datetime as dt

import pytest

from actionplan import services
from actionplan.models import Action, ActionStatus, Milestone, Plan, PlanStatus, PlanVisibility
from tests.factories import IndicatorFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def action(public_plan, make_action):
    return make_action(public_plan, step=4, title="Open a crisis café", due_date=dt.date(2027, 3, 31))


@pytest.fixture
def reader(public_plan):
    """Signed in, no grants: may read public plans only."""
    return UserFactory(display_name="Rita Reader")


def _read_urls(plan, action):
    return [
        f"/plans/{plan.slug}/",
        f"/plans/{plan.slug}/history/",
        f"/plans/{plan.slug}/print/",
        f"/plans/{plan.slug}/export.csv",
        f"/plans/{plan.slug}/actions/{action.pk}/",
        f"/plans/{plan.slug}/actions/{action.pk}/history/",
    ]


def _write_gets(plan, action):
    return [
        f"/plans/{plan.slug}/edit/",
        f"/plans/{plan.slug}/status/",
        f"/plans/{plan.slug}/actions/new/",
        f"/plans/{plan.slug}/actions/{action.pk}/edit/",
        f"/plans/{plan.slug}/actions/{action.pk}/delete/",
    ]


def test_anyone_reads_every_page_of_a_public_plan(client_for, public_plan, action):
    client = client_for(None)
    for url in _read_urls(public_plan, action):
        assert client.get(url).status_code == 200, url


def test_a_stranger_gets_404_on_every_page_of_a_partners_only_plan(client_for, partners_plan, make_action, outsider):
    action = make_action(partners_plan)
    for who in (None, outsider):
        client = client_for(who)
        for url in _read_urls(partners_plan, action) + _write_gets(partners_plan, action):
            response = client.get(url)
            # Anonymous visitors are sent to sign in for write pages; the rest is 404.
            assert response.status_code in ((302, 404) if who is None else (404,)), url
            if who is None and response.status_code == 302:
                assert "/login" in response["Location"] or "sign-in" in response["Location"]


def test_a_draft_is_hidden_from_everyone_without_a_grant(client_for, draft_plan, reader, commissioner):
    assert client_for(reader).get(f"/plans/{draft_plan.slug}/").status_code == 404
    assert client_for(commissioner).get(f"/plans/{draft_plan.slug}/").status_code == 200


def test_a_reader_gets_403_on_every_write_page_and_post(client_for, public_plan, action, reader):
    client = client_for(reader)
    for url in _write_gets(public_plan, action):
        assert client.get(url).status_code == 403, url
    posts = [
        (f"/plans/{public_plan.slug}/actions/{action.pk}/progress/", {"version": 1, "status": "done", "progress": 100}),
        (f"/plans/{public_plan.slug}/actions/{action.pk}/milestones/", {"title": "x"}),
        (f"/plans/{public_plan.slug}/people/remove/", {"user": reader.pk}),
        (f"/plans/{public_plan.slug}/actions/{action.pk}/delete/", {"version": 1}),
    ]
    milestone = services.milestone_create(actor=public_plan.created_by, action=action, title="Kick-off")
    indicator = _linked_indicator(action)
    posts += [
        (f"/plans/{public_plan.slug}/actions/{action.pk}/milestones/{milestone.pk}/", {"title": "Renamed"}),
        (
            f"/plans/{public_plan.slug}/actions/{action.pk}/indicators/{indicator.pk}/target/",
            {"version": 2, "target": "9"},
        ),
        (f"/plans/{public_plan.slug}/status/", {"version": 1, "status": "closed"}),
        (f"/plans/{public_plan.slug}/people/", {"email": reader.email, "level": "manage_plan"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    milestone.refresh_from_db()
    assert milestone.title == "Kick-off"
    action.refresh_from_db()
    assert action.status == ActionStatus.NOT_STARTED
    assert Milestone.objects.count() == 1
    assert action.indicator_links.get().target is None


def _linked_indicator(action):

    indicator = IndicatorFactory(
        code="v-ind", name="View indicator", definition="x", measure="count", period_type="month"
    )
    services.action_update(
        actor=action.plan.created_by,
        action=action,
        expected_version=action.version,
        values={},
        indicators={indicator: None},
    )
    return indicator


def test_a_stranger_gets_404_when_writing_to_a_partners_only_plan(client_for, partners_plan, make_action, outsider):
    action = make_action(partners_plan)
    milestone = services.milestone_create(actor=partners_plan.created_by, action=action, title="Kick-off")
    client = client_for(outsider)
    for url, data in [
        (
            f"/plans/{partners_plan.slug}/actions/{action.pk}/progress/",
            {"version": 1, "status": "done", "progress": 100},
        ),
        (f"/plans/{partners_plan.slug}/actions/{action.pk}/milestones/", {"title": "x"}),
        (f"/plans/{partners_plan.slug}/actions/{action.pk}/milestones/{milestone.pk}/", {"title": "x"}),
        (f"/plans/{partners_plan.slug}/people/", {"email": outsider.email, "level": "manage_plan"}),
        (f"/plans/{partners_plan.slug}/people/remove/", {"user": outsider.pk}),
        (f"/plans/{partners_plan.slug}/status/", {"version": 1, "status": "closed"}),
    ]:
        assert client.post(url, data).status_code == 404, url


def test_the_people_tab_is_for_the_plan_team(client_for, public_plan, reader, commissioner):
    assert client_for(None).get(f"/plans/{public_plan.slug}/people/").status_code == 403
    assert client_for(reader).get(f"/plans/{public_plan.slug}/people/").status_code == 403
    response = client_for(commissioner).get(f"/plans/{public_plan.slug}/people/")
    assert response.status_code == 200
    assert "Casey Commissioner" in response.content.decode()


def test_a_commissioner_creates_a_plan_and_manages_it(client_for, commissioner, commissioning_org):
    response = client_for(commissioner).post(
        "/plans/new/",
        {
            "title": "North Central London crisis plan",
            "summary": "Crisis care **together**. <script>alert(1)</script>",
            "scope": "sub_region",
            "sub_region": _sub_region_pk("NCL"),
            "lead_organisation": commissioning_org.pk,
            "period_start": "2026-04-01",
            "period_end": "2027-03-31",
            "visibility": "public",
        },
    )
    plan = Plan.objects.get(title="North Central London crisis plan")
    assert response.status_code == 302
    assert response["Location"] == f"/plans/{plan.slug}/"
    assert plan.status == PlanStatus.DRAFT
    assert [a.short_code for a in plan.areas.all()] == ["NCL"]
    page = client_for(commissioner).get(f"/plans/{plan.slug}/").content.decode()
    assert "<strong>together</strong>" in page
    assert "<script>alert" not in page


def _sub_region_pk(short_code):
    from stakeholders.models import Area

    return Area.objects.get(short_code=short_code).pk


def test_the_plan_form_shows_errors_and_saves_nothing(client_for, commissioner, commissioning_org):
    response = client_for(commissioner).post(
        "/plans/new/",
        {
            "title": "",
            "scope": "boroughs",
            "lead_organisation": commissioning_org.pk,
            "period_start": "2027-04-01",
            "period_end": "2026-03-31",
            "visibility": "public",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert "Choose the borough or boroughs this plan covers." in page
    assert "The period must end on or after the day it starts." in page
    assert not Plan.objects.exists()


def test_people_without_a_commissioner_role_cannot_start_plans(client_for, provider):
    assert client_for(provider).get("/plans/new/").status_code == 403
    assert client_for(None).get("/plans/new/").status_code == 302


def test_a_stale_plan_edit_shows_the_conflict_page_and_saves_nothing(
    client_for, public_plan, commissioner, commissioning_org
):
    colleague = MembershipFactory(organisation=commissioning_org).user  # the lead organisation may change it
    services.plan_update(actor=colleague, plan=public_plan, expected_version=1, values={"title": "Theirs"})
    response = client_for(commissioner).post(
        f"/plans/{public_plan.slug}/edit/",
        {
            "version": 1,
            "title": "Mine",
            "summary": "",
            "scope": "pan_london",
            "lead_organisation": commissioning_org.pk,
            "period_start": "2026-04-01",
            "period_end": "2029-03-31",
            "visibility": "public",
        },
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed this while you were editing" in page
    assert "Mine" in page and "Theirs" in page
    assert 'name="version" value="2"' in page  # re-submitting applies "mine" on top of theirs
    public_plan.refresh_from_db()
    assert public_plan.title == "Theirs"


def test_status_changes_follow_the_table_and_only_managers_make_them(
    client_for, draft_plan, commissioner, commissioning_org
):
    colleague = MembershipFactory(organisation=commissioning_org).user  # may change, not manage
    assert client_for(colleague).get(f"/plans/{draft_plan.slug}/status/").status_code == 403
    client = client_for(commissioner)
    assert client.post(f"/plans/{draft_plan.slug}/status/", {"version": 1, "status": "closed"}).status_code == 200
    draft_plan.refresh_from_db()
    assert draft_plan.status == PlanStatus.DRAFT
    response = client.post(f"/plans/{draft_plan.slug}/status/", {"version": 1, "status": "consultation"})
    assert response.status_code == 302
    draft_plan.refresh_from_db()
    assert draft_plan.status == PlanStatus.CONSULTATION


def test_status_and_progress_change_in_place_with_htmx(client_for, public_plan, action, commissioner):
    response = client_for(commissioner).post(
        f"/plans/{public_plan.slug}/actions/{action.pk}/progress/",
        {"version": 1, "status": "at_risk", "progress": "40"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<li class="lmh-action lmh-action--attention" id="action-')
    assert "Saved: at risk, 40%." in fragment
    assert 'name="version" value="2"' in fragment
    action.refresh_from_db()
    assert (action.status, action.progress, action.version) == ("at_risk", 40, 2)


def test_the_same_change_works_without_javascript(client_for, public_plan, action, commissioner):
    response = client_for(commissioner).post(
        f"/plans/{public_plan.slug}/actions/{action.pk}/progress/", {"version": 1, "status": "done", "progress": "10"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/plans/{public_plan.slug}/#action-{action.pk}"
    action.refresh_from_db()
    assert (action.status, action.progress) == ("done", 100)  # done means complete


def test_a_stale_in_place_edit_shows_both_versions(client_for, public_plan, action, commissioner, commissioning_org):
    colleague = MembershipFactory(organisation=commissioning_org).user
    services.action_set_progress(actor=colleague, action=action, expected_version=1, status="on_track", progress=30)
    client = client_for(commissioner)
    url = f"/plans/{public_plan.slug}/actions/{action.pk}/progress/"
    fragment = client.post(url, {"version": 1, "status": "off_track", "progress": "5"}, HTTP_HX_REQUEST="true")
    assert "Not saved: someone else changed this action." in fragment.content.decode()
    assert "Yours was off track, 5%." in fragment.content.decode()
    page = client.post(url, {"version": 1, "status": "off_track", "progress": "5"})
    assert page.status_code == 409
    text = page.content.decode()
    assert "Someone else changed this while you were editing" in text
    assert "Keep their version" in text
    assert 'name="version" value="2"' in text
    # Statuses read as their labels, not their codes (issue 19).
    assert ">Off track</td>" in text and ">On track</td>" in text
    assert "off_track" not in text.split('id="conflict-table"')[1].split("</table>")[0]
    action.refresh_from_db()
    assert (action.status, action.progress) == ("on_track", 30)
    # "Save my version" re-applies on top of theirs.
    assert client.post(url, {"version": 2, "status": "off_track", "progress": "5"}).status_code == 302
    action.refresh_from_db()
    assert (action.status, action.progress, action.version) == ("off_track", 5, 3)


def test_a_stale_edit_saved_by_you_in_another_window_says_so(client_for, public_plan, action, commissioner):
    # The first save came from this commissioner's other tab: the page must not blame "someone else".
    client = client_for(commissioner)
    url = f"/plans/{public_plan.slug}/actions/{action.pk}/progress/"
    assert client.post(url, {"version": 1, "status": "at_risk", "progress": "30"}).status_code == 302
    fragment = client.post(url, {"version": 1, "status": "off_track", "progress": "5"}, HTTP_HX_REQUEST="true")
    assert "Not saved: you changed this action in another window." in fragment.content.decode()
    page = client.post(url, {"version": 1, "status": "off_track", "progress": "5"})
    assert page.status_code == 409
    text = page.content.decode()
    assert "You changed this in another window while you were editing" in text
    assert "Someone else" not in text
    assert "Keep the saved version" in text
    assert ">At risk</td>" in text and ">Off track</td>" in text


def test_bad_progress_is_refused_with_a_message(client_for, public_plan, action, commissioner):
    response = client_for(commissioner).post(
        f"/plans/{public_plan.slug}/actions/{action.pk}/progress/",
        {"version": 1, "status": "on_track", "progress": "140"},
    )
    assert response.status_code == 422
    assert "Ensure this value is less than or equal to 100." in response.content.decode()
    action.refresh_from_db()
    assert action.progress == 0


def test_a_commissioner_adds_edits_and_deletes_an_action_with_milestones(
    client_for, public_plan, commissioner, commissioning_org, key_steps
):
    client = client_for(commissioner)
    response = client.post(
        f"/plans/{public_plan.slug}/actions/new/",
        {
            "key_step": key_steps[3].pk,
            "title": "Crisis line open all night",
            "owner_organisation": commissioning_org.pk,
            "lead_email": commissioner.email,
            "status": "not_started",
            "progress": "0",
            "weight": "3",
            "due_date": "2027-01-31",
        },
    )
    action = Action.objects.get(title="Crisis line open all night")
    assert response.status_code == 302
    assert action.lead == commissioner and action.weight == 3
    assert (
        client.post(
            f"/plans/{public_plan.slug}/actions/{action.pk}/milestones/",
            {"title": "Recruit call handlers", "due": "2026-09-30"},
        ).status_code
        == 302
    )
    milestone = action.milestones.get()
    assert (
        client.post(
            f"/plans/{public_plan.slug}/actions/{action.pk}/milestones/{milestone.pk}/",
            {"title": "Recruit call handlers", "due": "2026-09-30", "done_on": "2026-09-01"},
        ).status_code
        == 302
    )
    milestone.refresh_from_db()
    assert milestone.done_on == dt.date(2026, 9, 1)
    assert client.post(f"/plans/{public_plan.slug}/actions/{action.pk}/delete/", {"version": 1}).status_code == 302
    assert not Action.objects.filter(pk=action.pk).exists()


def test_an_unknown_lead_email_is_a_field_error(client_for, public_plan, commissioner, commissioning_org, key_steps):
    response = client_for(commissioner).post(
        f"/plans/{public_plan.slug}/actions/new/",
        {
            "key_step": key_steps[0].pk,
            "title": "Something",
            "owner_organisation": commissioning_org.pk,
            "lead_email": "nobody@example.org",
            "status": "not_started",
            "progress": "0",
            "weight": "1",
        },
    )
    assert response.status_code == 200
    assert "Nobody with that email address has an account." in response.content.decode()
    assert not Action.objects.exists()


def test_overdue_and_at_risk_actions_stand_out(client_for, public_plan, make_action):
    make_action(public_plan, step=2, title="Late one", due_date=dt.date(2020, 1, 1))
    make_action(public_plan, step=3, title="Risky one", status=ActionStatus.AT_RISK)
    make_action(public_plan, step=3, title="Fine one", status=ActionStatus.ON_TRACK)
    page = client_for(None).get(f"/plans/{public_plan.slug}/").content.decode()
    assert "2 actions need attention" in page
    assert page.count("lmh-action--attention") == 2
    assert "Overdue" in page


def test_the_csv_export_lists_every_action_and_defuses_formulas(client_for, public_plan, make_action):
    make_action(public_plan, step=1, title="=HYPERLINK(evil)")
    make_action(public_plan, step=9, title="Co-produce the plan")
    response = client_for(None).get(f"/plans/{public_plan.slug}/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("key_step,key_step_title,priority_areas,action_id,action")
    assert len(lines) == 3
    assert "'=HYPERLINK(evil)" in lines[1]


def test_grants_given_on_the_people_tab_reach_the_organisation(
    client_for, partners_plan, commissioner, other_org, outsider
):
    client = client_for(commissioner)
    response = client.post(f"/plans/{partners_plan.slug}/people/", {"organisation": other_org.pk, "level": "view_plan"})
    assert response.status_code == 302
    assert client_for(outsider).get(f"/plans/{partners_plan.slug}/").status_code == 200
    assert client.post(f"/plans/{partners_plan.slug}/people/remove/", {"organisation": other_org.pk}).status_code == 302
    assert client_for(outsider).get(f"/plans/{partners_plan.slug}/").status_code == 404


def test_the_last_manager_cannot_be_removed(client_for, public_plan, commissioner):
    client = client_for(commissioner)
    response = client.post(f"/plans/{public_plan.slug}/people/remove/", {"user": commissioner.pk}, follow=True)
    assert "A plan needs at least one manager" in response.content.decode()
    assert client.get(f"/plans/{public_plan.slug}/edit/").status_code == 200


def test_the_plan_list_filters_by_borough_and_hides_what_you_may_not_see(client_for, make_plan, partners_plan):
    from stakeholders.models import Area

    camden = Area.objects.get(short_code="CMD")
    make_plan(title="Camden borough plan", scope="boroughs", areas=[camden])
    make_plan(title="Lambeth borough plan", scope="boroughs", areas=[Area.objects.get(short_code="LAM")])
    make_plan(title="London-wide plan")
    page = client_for(None).get("/plans/", {"borough": "CMD"}).content.decode()
    assert "Camden borough plan" in page and "London-wide plan" in page
    assert "Lambeth borough plan" not in page
    assert partners_plan.title not in client_for(None).get("/plans/").content.decode()


def test_my_work_lists_what_i_lead_and_my_organisation_owns_by_due_date(
    client_for, public_plan, make_action, commissioner, provider, provider_org
):
    make_action(public_plan, title="Later", due_date=dt.date(2027, 6, 1), lead=commissioner)
    make_action(public_plan, title="Sooner", due_date=dt.date(2026, 6, 1), owner_organisation=provider_org)
    make_action(public_plan, title="Earliest", due_date=dt.date(2026, 1, 1), owner_organisation=provider_org)
    mine = client_for(commissioner).get("/my-work/").content.decode()
    assert "Later" in mine and "Sooner" not in mine
    theirs = client_for(provider).get("/my-work/").content.decode()
    assert theirs.index("Earliest") < theirs.index("Sooner")  # soonest due first
    assert "Later" not in theirs
    assert client_for(None).get("/my-work/").status_code == 302


def test_the_key_step_pages_are_public(client_for):
    assert client_for(None).get("/key-steps/").status_code == 200
    page = client_for(None).get("/key-steps/8/").content.decode()
    assert "academic infrastructure to disseminate best practice" in page
    assert client_for(None).get("/key-steps/10/").status_code == 404


def test_plans_in_draft_do_not_accept_in_place_edits_from_readers_but_do_from_the_team(
    client_for, draft_plan, make_action, commissioner, reader
):
    action = make_action(draft_plan)
    url = f"/plans/{draft_plan.slug}/actions/{action.pk}/progress/"
    assert client_for(reader).post(url, {"version": 1, "status": "on_track", "progress": 5}).status_code == 404
    assert client_for(commissioner).post(url, {"version": 1, "status": "on_track", "progress": 5}).status_code == 302


def test_closed_plans_refuse_writes_with_403(client_for, make_plan, make_action, commissioner):
    plan = make_plan(title="Closed plan")
    action = make_action(plan)
    services.plan_change_status(actor=commissioner, plan=plan, expected_version=1, status=PlanStatus.CLOSED)
    client = client_for(commissioner)
    assert client.get(f"/plans/{plan.slug}/edit/").status_code == 403
    url = f"/plans/{plan.slug}/actions/{action.pk}/progress/"
    assert client.post(url, {"version": 1, "status": "done", "progress": 100}).status_code == 403
    assert plan.visibility == PlanVisibility.PUBLIC
