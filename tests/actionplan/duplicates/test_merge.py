"""Dismissing, merging and splitting: the services, their permissions, history and notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pghistory.models import Events

from actionplan import selectors as plan_selectors
from actionplan import services as plan_services
from actionplan.duplicates import selectors, services
from actionplan.duplicates.models import MergeRecord, SharedAction
from actionplan.models import Action, ActionCoOwner, Notification, NotificationKind
from tests.factories import IndicatorFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich_pair(commissioner, cafe_ncl, cafe_camden, housing, make_action):
    """The Camden café with milestones, an indicator, a partner, a second priority area, a co-owner and
    a dependency; an action elsewhere depends on it."""
    camden_council = OrganisationFactory(name="Camden Council (test)")
    mind = OrganisationFactory(name="Mind in Camden (test)")
    cafe_camden.owner_organisation = camden_council
    Action.objects.filter(pk=cafe_camden.pk).update(owner_organisation=camden_council)
    for title in ("Venue agreed", "Café open"):
        plan_services.milestone_create(actor=commissioner, action=cafe_camden, title=title, due=dt.date(2027, 1, 1))
    indicator = IndicatorFactory()
    prior = make_action(cafe_camden.plan, step=6, title="Peer worker training")
    waiting = make_action(cafe_camden.plan, step=7, title="Evaluate the café")
    cafe_camden = Action.objects.get(pk=cafe_camden.pk)
    plan_services.action_update(
        actor=commissioner,
        action=cafe_camden,
        expected_version=cafe_camden.version,
        values={},
        partners=[mind],
        indicators={indicator: None},
        priority_areas=[*cafe_camden.priority_areas.all(), housing],
        dependencies=[prior],
    )
    waiting.dependencies.add(cafe_camden)
    ActionCoOwner.objects.create(action=cafe_camden, organisation=mind, share="Runs the café's peer support")
    return (
        cafe_ncl,
        Action.objects.get(pk=cafe_camden.pk),
        {"indicator": indicator, "mind": mind, "prior": prior, "waiting": waiting},
    )


def _snapshot(action: Action) -> dict:
    action = Action.objects.get(pk=action.pk)
    return {
        "milestones": sorted(action.milestones.values_list("title", flat=True)),
        "indicators": sorted(action.indicator_links.values_list("indicator_id", flat=True)),
        "co_owners": sorted(action.co_owners.values_list("organisation_id", flat=True)),
        "partners": sorted(action.partners.values_list("pk", flat=True)),
        "priority_areas": sorted(action.priority_areas.values_list("pk", flat=True)),
        "evidence": sorted(action.evidence.values_list("pk", flat=True)),
        "dependencies": sorted(action.dependencies.values_list("pk", flat=True)),
        "dependents": sorted(action.dependents.values_list("pk", flat=True)),
        "merged_into": action.merged_into_id,
    }


def test_a_merge_makes_one_shared_action_and_a_split_restores_everything(commissioner, rich_pair):
    kept, retired, extra = rich_pair
    before_kept, before_retired = _snapshot(kept), _snapshot(retired)

    record = services.pair_merge(actor=commissioner, kept=kept, retired=retired, reason="Same café")

    after = _snapshot(kept)
    assert after["milestones"] == ["Café open", "Venue agreed"]
    assert after["indicators"] == [extra["indicator"].pk]
    # The retired action's owner and co-owner are the kept action's co-owners now.
    assert set(after["co_owners"]) == {retired.owner_organisation_id, extra["mind"].pk}
    assert extra["mind"].pk in after["partners"]
    assert len(after["priority_areas"]) == 2
    assert extra["prior"].pk in after["dependencies"]
    assert extra["waiting"].pk in after["dependents"]
    assert _snapshot(retired)["merged_into"] == kept.pk
    assert SharedAction.objects.filter(plan=retired.plan, action=kept, merge=record).exists()

    services.merge_split(actor=commissioner, record=record, reason="Two cafés after all")

    assert _snapshot(kept) == before_kept
    assert _snapshot(retired) == before_retired
    record.refresh_from_db()
    assert not record.is_live and record.split_by == commissioner
    assert not SharedAction.objects.exists()


def test_after_a_merge_both_plans_list_the_shared_action_once_and_nobody_lists_the_retired_one(
    commissioner, cafe_ncl, cafe_camden, client_for
):
    services.pair_merge(actor=commissioner, kept=cafe_ncl, retired=cafe_camden)
    for plan in (cafe_ncl.plan, cafe_camden.plan):
        page = plan_selectors.plan_page(plan, with_figures=False)
        assert [a.pk for a in page.actions] == [cafe_ncl.pk]
    summaries = plan_selectors.plan_summaries([cafe_ncl.plan, cafe_camden.plan])
    assert summaries[cafe_ncl.plan.pk].actions == summaries[cafe_camden.plan.pk].actions == 1
    step = cafe_ncl.key_step
    assert [a.pk for a in plan_selectors.key_step_actions(step=step, user=commissioner)] == [cafe_ncl.pk]
    assert plan_selectors.key_step_action_counts(user=commissioner)[step.pk] == 1
    # The plan page, its export and the API list for the plan show it, linked to its own plan.
    client = client_for(commissioner)
    page = client.get(cafe_camden.plan.get_absolute_url()).content.decode()
    assert f"/plans/{cafe_ncl.plan.slug}/actions/{cafe_ncl.pk}/" in page
    assert "Shared" in page
    csv_text = client.get(f"/plans/{cafe_camden.plan.slug}/export.csv").content.decode()
    assert cafe_ncl.title in csv_text and cafe_camden.title not in csv_text
    api = client.get("/api/v1/actions/", {"plan": cafe_camden.plan.slug}).json()
    assert [a["id"] for a in api["results"]] == [cafe_ncl.pk]
    assert cafe_camden.pk not in [a["id"] for a in client.get("/api/v1/actions/").json()["results"]]
    # The retired action stays readable, and says where it went.
    retired_page = client.get(f"/plans/{cafe_camden.plan.slug}/actions/{cafe_camden.pk}/").content.decode()
    assert "This action was merged into" in retired_page


def test_merging_and_splitting_are_in_the_history_with_the_actor(commissioner, cafe_ncl, cafe_camden):
    record = services.pair_merge(actor=commissioner, kept=cafe_ncl, retired=cafe_camden)
    services.merge_split(actor=commissioner, record=record)
    events = Events.objects.references(cafe_camden).filter(pgh_model="actionplan.ActionEvent")
    retired_changes = [e.pgh_data["merged_into_id"] for e in events.order_by("pgh_created_at", "pgh_id")]
    assert retired_changes[-2:] == [cafe_ncl.pk, None]
    record_events = (
        Events.objects.references(record)
        .filter(pgh_model="actionplan.MergeRecordEvent")
        .order_by("pgh_created_at", "pgh_id")
    )
    assert [e.pgh_label for e in record_events] == ["insert", "update"]
    assert all(e.pgh_context["user"] == commissioner.pk for e in record_events)


def test_a_merge_bumps_both_versions_so_an_edit_begun_before_it_is_refused(commissioner, cafe_ncl, cafe_camden):
    from kernel.concurrency import StaleEdit

    stale = cafe_ncl.version
    services.pair_merge(actor=commissioner, kept=cafe_ncl, retired=cafe_camden)
    with pytest.raises(StaleEdit):
        plan_services.action_update(actor=commissioner, action=cafe_ncl, expected_version=stale, values={"title": "X"})


def test_a_retired_action_cannot_be_merged_again_until_split(commissioner, cafe_ncl, cafe_camden, make_action, crisis):
    services.pair_merge(actor=commissioner, kept=cafe_ncl, retired=cafe_camden)
    third = make_action(cafe_ncl.plan, step=6, title="Open an evening crisis café, again", priority_areas=[crisis])
    with pytest.raises(ValidationError):
        services.pair_merge(actor=commissioner, kept=third, retired=Action.objects.get(pk=cafe_camden.pk))
    with pytest.raises(ValidationError):
        services.pair_merge(actor=commissioner, kept=third, retired=cafe_ncl)  # it is itself a merged action


def test_only_a_manager_of_both_plans_merges_a_manager_of_one_proposes(
    commissioner, outsider, make_action, other_manager_plan, cafe_ncl, crisis
):
    theirs = make_action(
        other_manager_plan,
        step=6,
        title="Open an evening crisis café in every borough",
        actor=outsider,
        priority_areas=[crisis],
    )
    with pytest.raises(PermissionDenied):
        services.pair_merge(actor=commissioner, kept=cafe_ncl, retired=theirs)
    told = services.merge_propose(actor=commissioner, kept=cafe_ncl, retired=theirs, reason="Same café")
    assert told == 1
    note = Notification.objects.get(recipient=outsider)
    assert note.kind == NotificationKind.DUPLICATE
    assert "proposes merging" in note.text and "Same café" in note.text
    assert note.url == f"/plans/duplicates/{cafe_ncl.pk}-{theirs.pk}/"
    # Asking twice tells nobody twice.
    assert services.merge_propose(actor=commissioner, kept=cafe_ncl, retired=theirs) == 0


def test_a_merge_and_a_split_tell_the_other_managers_of_both_plans(commissioner, outsider, cafe_ncl, cafe_camden):
    plan_services.plan_set_grant(actor=commissioner, plan=cafe_camden.plan, level="manage_plan", user=outsider)
    record = services.pair_merge(actor=commissioner, kept=cafe_ncl, retired=cafe_camden)
    services.merge_split(actor=commissioner, record=record)
    texts = list(
        Notification.objects.filter(recipient=outsider, kind=NotificationKind.DUPLICATE)
        .order_by("pk")
        .values_list("text", flat=True)
    )
    assert len(texts) == 2
    assert "merged" in texts[0] and "split" in texts[1]
    assert not Notification.objects.filter(recipient=commissioner, kind=NotificationKind.DUPLICATE).exists()


def test_dismissing_needs_a_manager_of_either_plan_and_a_reason(commissioner, provider, cafe_ncl, cafe_camden):
    with pytest.raises(PermissionDenied):
        services.pair_dismiss(actor=provider, a=cafe_ncl, b=cafe_camden, reason="No")
    with pytest.raises(ValidationError):
        services.pair_dismiss(actor=commissioner, a=cafe_ncl, b=cafe_camden, reason="  ")
    row = services.pair_dismiss(actor=commissioner, a=cafe_ncl, b=cafe_camden, reason="One is a helpline")
    assert row.dismissed_by == commissioner
    with pytest.raises(ValidationError):
        services.pair_dismiss(actor=commissioner, a=cafe_ncl, b=cafe_camden, reason="Again")


def test_merges_and_dismissals_are_listed_for_people_who_can_see_both_plans(
    commissioner, outsider, cafe_ncl, cafe_camden
):
    record = services.pair_merge(actor=commissioner, kept=cafe_ncl, retired=cafe_camden)
    assert list(selectors.merges(commissioner)) == [record]
    assert list(selectors.merges(commissioner, live=False)) == []
    assert MergeRecord.objects.count() == 1
    assert list(selectors.merges(outsider)) == [record]  # both plans are public
