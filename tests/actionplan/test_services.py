"""Plan, action and grant services: the rules they keep and what they refuse."""

from __future__ import annotations

import datetime as dt
import threading

import pghistory
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from pghistory.models import Events

from actionplan import permissions, selectors, services
from actionplan.models import Action, ActionStatus, Plan, PlanStatus
from kernel.concurrency import StaleEdit
from stakeholders.models import Area

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        ("draft", "consultation", True),
        ("draft", "active", True),
        ("draft", "closed", False),
        ("consultation", "draft", True),
        ("consultation", "active", True),
        ("consultation", "closed", False),
        ("active", "closed", True),
        ("active", "draft", False),
        ("active", "consultation", False),
        ("closed", "active", True),
        ("closed", "draft", False),
    ],
)
def test_plan_status_moves_only_along_the_allowed_transitions(make_plan, commissioner, start, to, allowed):
    plan = make_plan(status=start)
    if to == "active" and start in ("draft", "consultation"):
        # The activation gate (issue 23, tests/actionplan/commitments): a reason stands in for a signature.
        from actionplan.commitments.services import sign_off_waive

        sign_off_waive(actor=commissioner, plan=plan, organisation=plan.lead_organisation, reason="Signed on paper.")
    if allowed:
        services.plan_change_status(actor=commissioner, plan=plan, expected_version=1, status=to)
        assert Plan.objects.get(pk=plan.pk).status == to
    else:
        with pytest.raises(ValidationError):
            services.plan_change_status(actor=commissioner, plan=plan, expected_version=1, status=to)
        assert Plan.objects.get(pk=plan.pk).status == start


def test_a_plan_scope_must_name_the_right_kind_of_area(make_plan):
    camden = Area.objects.get(short_code="CMD")
    with pytest.raises(ValidationError, match="one ICS sub-region"):
        make_plan(scope="sub_region", areas=[camden])
    with pytest.raises(ValidationError, match="all of London"):
        make_plan(scope="pan_london", areas=[camden])
    with pytest.raises(ValidationError, match="borough or boroughs"):
        make_plan(scope="boroughs", areas=[])
    assert not Plan.objects.exists()


def test_dependencies_stay_in_the_plan_and_never_loop(public_plan, make_plan, make_action, commissioner):
    a = make_action(public_plan, title="A")
    b = make_action(public_plan, title="B", dependencies=[a])
    c = make_action(public_plan, title="C", dependencies=[b])
    with pytest.raises(ValidationError, match="loop"):
        services.action_update(actor=commissioner, action=a, expected_version=1, values={}, dependencies=[c])
    with pytest.raises(ValidationError, match="itself"):
        services.action_update(actor=commissioner, action=a, expected_version=1, values={}, dependencies=[a])
    elsewhere = make_action(make_plan(title="Another plan"), title="Elsewhere")
    with pytest.raises(ValidationError, match="same plan"):
        services.action_update(actor=commissioner, action=a, expected_version=1, values={}, dependencies=[elsewhere])
    assert list(Action.objects.get(pk=a.pk).dependencies.all()) == []


def test_marking_an_action_done_completes_it(public_plan, make_action, commissioner):
    action = make_action(public_plan, progress=30)
    services.action_set_progress(actor=commissioner, action=action, expected_version=1, status=ActionStatus.DONE)
    action.refresh_from_db()
    assert (action.status, action.progress) == (ActionStatus.DONE, 100)


def test_progress_rolls_up_by_weight(public_plan, make_action):
    make_action(public_plan, step=1, progress=100, status=ActionStatus.DONE, weight=3)
    make_action(public_plan, step=1, progress=0, weight=1)
    make_action(public_plan, step=2, progress=50, weight=4)
    page = selectors.plan_page(public_plan, with_figures=False)
    assert page.sections[0].progress == 75  # (100*3 + 0*1) / 4
    assert page.sections[1].progress == 50
    assert page.sections[2].progress is None
    assert page.progress == 62  # (300 + 0 + 200) / 8 = 62.5, rounded half to even


def test_a_stale_action_save_changes_nothing_links_included(public_plan, make_action, commissioner, provider_org):
    action = make_action(public_plan)
    services.action_update(actor=commissioner, action=action, expected_version=1, values={"title": "Theirs"})
    with pytest.raises(StaleEdit):
        services.action_update(
            actor=commissioner,
            action=Action.objects.get(pk=action.pk),
            expected_version=1,
            values={"title": "Mine"},
            partners=[provider_org],
        )
    action = Action.objects.get(pk=action.pk)
    assert action.title == "Theirs"
    assert not action.partners.exists()


def test_a_grant_level_replaces_the_previous_one(public_plan, commissioner, outsider):
    services.plan_set_grant(actor=commissioner, plan=public_plan, level=permissions.MANAGE, user=outsider)
    services.plan_set_grant(actor=commissioner, plan=public_plan, level=permissions.COMMENT, user=outsider)
    fresh = type(outsider).objects.get(pk=outsider.pk)
    assert permissions.plan_perms(fresh, public_plan) == {permissions.COMMENT, permissions.VIEW}


def test_respond_grants_answer_comments_without_editing(public_plan, commissioner, outsider):
    services.plan_set_grant(actor=commissioner, plan=public_plan, level=permissions.RESPOND, user=outsider)
    fresh = type(outsider).objects.get(pk=outsider.pk)
    assert permissions.can_respond_to_comments(fresh, public_plan)
    assert not permissions.can_change_plan(fresh, public_plan)
    assert permissions.can_respond_to_comments(commissioner, public_plan)  # managers respond too


# History ------------------------------------------------------------------------------------


def test_history_records_who_changed_what_including_bulk_updates(public_plan, make_action, commissioner, outsider):
    action = make_action(public_plan, title="Crisis line")
    services.action_set_progress(actor=commissioner, action=action, expected_version=1, status="on_track", progress=10)
    # A bulk update bypasses save() and the services: the triggers still record it.
    with pghistory.context(user=outsider.pk):
        Action.objects.filter(plan=public_plan).update(status=ActionStatus.AT_RISK)
    entries = selectors.plan_history(public_plan)
    # One test transaction gives every event the same timestamp; within a table, newest first still holds.
    action_entries = [e for e in entries if e.what == "Action"]
    bulk = action_entries[0]
    assert (bulk.what, bulk.verb, bulk.who) == ("Action", "changed", "Olly Outsider")
    assert [(c.label, c.old, c.new) for c in bulk.changes] == [("Status", "On track", "At risk")]
    by_commissioner = action_entries[1]
    assert by_commissioner.who == "Casey Commissioner"
    assert {c.label for c in by_commissioner.changes} == {"Status", "Progress"}
    assert any(e.what == "Plan" and e.verb == "created" for e in entries)


def test_history_keeps_deleted_actions_and_their_milestones(public_plan, make_action, commissioner):
    action = make_action(public_plan, title="Short-lived")
    services.milestone_create(actor=commissioner, action=action, title="Kick-off", due=dt.date(2026, 5, 1))
    services.action_delete(actor=commissioner, action=action, expected_version=1)
    entries = selectors.plan_history(public_plan)
    assert ("Action", "deleted") in {(e.what, e.verb) for e in entries}
    assert ("Milestone", "created") in {(e.what, e.verb) for e in entries}


# Concurrency on the real PostgreSQL -----------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_many_people_saving_one_action_from_one_version_exactly_one_wins(make_plan, make_action, commissioner):
    plan = make_plan(title="Concurrency plan")
    action = make_action(plan, title="Contested")
    writers = 8
    barrier = threading.Barrier(writers)
    outcomes: list[tuple[int, str]] = []

    def save(n: int) -> None:
        try:
            mine = Action.objects.get(pk=action.pk)  # everyone read version 1
            barrier.wait()
            services.action_set_progress(
                actor=commissioner, action=mine, expected_version=1, status="on_track", progress=10 + n
            )
            outcomes.append((n, "won"))
        except StaleEdit:
            outcomes.append((n, "conflict"))
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, result in outcomes if result == "won"]
    assert len(outcomes) == writers
    assert len(winners) == 1
    stored = Action.objects.get(pk=action.pk)
    # No lost update: the stored row is exactly the winner's, at version 2.
    assert (stored.progress, stored.version) == (10 + winners[0], 2)
    assert Events.objects.tracks(stored).filter(pgh_label="update").count() == 1


def test_a_closed_plan_is_read_only_but_reopenable(make_plan, commissioner):
    plan = make_plan(status=PlanStatus.ACTIVE)
    services.plan_change_status(actor=commissioner, plan=plan, expected_version=1, status=PlanStatus.CLOSED)
    assert not permissions.can_change_plan(commissioner, plan)
    services.plan_change_status(actor=commissioner, plan=plan, expected_version=2, status=PlanStatus.ACTIVE)
    assert permissions.can_change_plan(commissioner, plan)
