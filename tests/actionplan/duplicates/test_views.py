"""The duplicates pages: who sees, dismisses, merges and splits; errors; a fixed number of queries."""

from __future__ import annotations

import pytest

from actionplan.duplicates import services
from actionplan.duplicates.models import DismissedPair, MergeRecord
from actionplan.models import Action, Notification

pytestmark = pytest.mark.django_db

from tests.stakeholders.test_query_counts import SIGNED_IN_OVERHEAD  # noqa: E402


def _pair_url(a, b, suffix=""):
    lo, hi = sorted((a.pk, b.pk))
    return f"/plans/duplicates/{lo}-{hi}/{suffix}"


def test_the_list_sends_anonymous_visitors_to_sign_in(client_for, cafe_ncl, cafe_camden):
    response = client_for().get("/plans/duplicates/")
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


def test_the_list_shows_each_pair_with_why_it_matched(client_for, commissioner, cafe_ncl, cafe_camden):
    page = client_for(commissioner).get("/plans/duplicates/").content.decode()
    assert "Possible duplicates (1)" in page
    assert "both about Crisis care" in page and "both in Camden" in page
    assert _pair_url(cafe_ncl, cafe_camden) in page
    assert "Compare, merge or dismiss" in page


def test_the_list_has_an_empty_state_and_says_when_filters_found_nothing(
    client_for, commissioner, cafe_ncl, lambeth_plan
):
    client = client_for(commissioner)
    assert "No possible duplicates found" in client.get("/plans/duplicates/").content.decode()
    filtered = client.get("/plans/duplicates/", {"plan": lambeth_plan.slug}).content.decode()
    assert "No pair matches these filters" in filtered


def test_a_filter_value_that_does_not_exist_is_an_error_not_an_empty_page(
    client_for, commissioner, cafe_ncl, cafe_camden
):
    page = client_for(commissioner).get("/plans/duplicates/", {"borough": "nowhere"}).content.decode()
    assert "nhsuk-error-summary" in page


def test_the_plan_page_links_its_managers_to_its_possible_duplicates(
    client_for, commissioner, provider, cafe_ncl, cafe_camden
):
    page = client_for(commissioner).get(cafe_ncl.plan.get_absolute_url()).content.decode()
    assert f"/plans/duplicates/?plan={cafe_ncl.plan.slug}" in page and "Possible duplicates (1)" in page
    assert "Possible duplicates" not in client_for(provider).get(cafe_ncl.plan.get_absolute_url()).content.decode()


@pytest.mark.parametrize("extra", [0, 6])
def test_the_list_runs_a_fixed_number_of_queries(
    client_for, commissioner, make_plan, make_action, crisis, extra, django_assert_num_queries
):
    # The signed-in overhead, 1 the candidates (one statement, permission filter inside), 2 their
    # actions with plan, key step and owner, 3 the plans' areas, 4 the user's grants on those plans
    # (one UNION), 5-7 the filters' choices (priority areas, boroughs, plans the user may read).
    plans = [make_plan(title=f"London plan {n}") for n in range(2 + extra)]
    for plan in plans:
        make_action(plan, step=6, title="Open an evening crisis café in London", priority_areas=[crisis])
    client = client_for(commissioner)
    with django_assert_num_queries(SIGNED_IN_OVERHEAD + 7):
        response = client.get("/plans/duplicates/")
    assert response.status_code == 200
    assert response.content.decode().count('id="pair-') == min(len(plans) * (len(plans) - 1) // 2, 20)


def test_a_pair_in_a_plan_the_user_cannot_see_is_not_found(
    client_for, commissioner, outsider, make_action, private_plan, cafe_ncl, crisis
):
    hidden = make_action(
        private_plan, step=6, title="Open an evening crisis café", actor=outsider, priority_areas=[crisis]
    )
    client = client_for(commissioner)
    assert client.get(_pair_url(cafe_ncl, hidden)).status_code == 404
    assert client.post(_pair_url(cafe_ncl, hidden, "dismiss/"), {"reason": "x"}).status_code == 404
    assert client.post(_pair_url(cafe_ncl, hidden, "merge/"), {"keep": cafe_ncl.pk}).status_code == 404
    assert client.get("/plans/duplicates/999998-999999/").status_code == 404


def test_a_reader_sees_the_pair_but_may_not_dismiss_or_merge_it(client_for, provider, cafe_ncl, cafe_camden):
    client = client_for(provider)
    page = client.get(_pair_url(cafe_ncl, cafe_camden))
    assert page.status_code == 200 and "Why matched" in page.content.decode()
    assert "Dismiss this pair" not in page.content.decode()
    assert client.post(_pair_url(cafe_ncl, cafe_camden, "dismiss/"), {"reason": "x"}).status_code == 403
    assert client.post(_pair_url(cafe_ncl, cafe_camden, "merge/"), {"keep": cafe_ncl.pk}).status_code == 403


def test_a_manager_dismisses_a_pair_with_a_reason_and_can_list_it_again(
    client_for, commissioner, cafe_ncl, cafe_camden
):
    client = client_for(commissioner)
    missing = client.post(_pair_url(cafe_ncl, cafe_camden, "dismiss/"), {"reason": ""})
    assert missing.status_code == 400
    assert "Say why these are not the same work" in missing.content.decode()
    done = client.post(_pair_url(cafe_ncl, cafe_camden, "dismiss/"), {"reason": "One is a helpline"})
    assert done.status_code == 302
    row = DismissedPair.objects.get()
    assert "Possible duplicates (0)" in client.get("/plans/duplicates/").content.decode()
    history = client.get("/plans/duplicates/decided/").content.decode()
    assert "One is a helpline" in history
    assert client.post(f"/plans/duplicates/dismissed/{row.pk}/restore/").status_code == 302
    assert not DismissedPair.objects.exists()


def test_a_bad_merge_form_keeps_what_was_typed(client_for, commissioner, cafe_ncl, cafe_camden):
    response = client_for(commissioner).post(_pair_url(cafe_ncl, cafe_camden, "merge/"), {"reason": "Same café really"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the action that stays" in page
    assert "Same café really" in page


def test_a_manager_of_both_plans_merges_and_then_splits(client_for, commissioner, cafe_ncl, cafe_camden):
    client = client_for(commissioner)
    response = client.post(_pair_url(cafe_ncl, cafe_camden, "merge/"), {"keep": cafe_ncl.pk, "reason": "Same café"})
    record = MergeRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/plans/duplicates/merges/{record.pk}/"
    detail = client.get(response["Location"]).content.decode()
    assert "Split the merge" in detail and cafe_camden.title in detail
    # The merged pair is gone from the list; its retired action's page says where it went.
    assert "Possible duplicates (0)" in client.get("/plans/duplicates/").content.decode()
    assert client.get(_pair_url(cafe_ncl, cafe_camden)).status_code == 404
    split = client.post(f"/plans/duplicates/merges/{record.pk}/split/", {"reason": "Two cafés"})
    assert split.status_code == 302
    assert Action.objects.get(pk=cafe_camden.pk).merged_into_id is None
    # Split twice: the record is history, nobody may split it again.
    assert client.post(f"/plans/duplicates/merges/{record.pk}/split/").status_code == 403


def test_a_manager_of_one_plan_proposes_and_the_other_manager_is_told(
    client_for, commissioner, outsider, make_action, other_manager_plan, cafe_ncl, crisis
):
    theirs = make_action(
        other_manager_plan,
        step=6,
        title="Open an evening crisis café in every borough",
        actor=outsider,
        priority_areas=[crisis],
    )
    client = client_for(commissioner)
    page = client.get(_pair_url(cafe_ncl, theirs)).content.decode()
    assert "Propose a merge" in page
    response = client.post(_pair_url(cafe_ncl, theirs, "merge/"), {"keep": cafe_ncl.pk})
    assert response.status_code == 302
    assert not MergeRecord.objects.exists()
    assert Notification.objects.filter(recipient=outsider, kind="duplicate").count() == 1
    # Olly, who now manages neither... no: he manages his plan only, so he too may only propose.
    assert "Propose a merge" in client_for(outsider).get(_pair_url(cafe_ncl, theirs)).content.decode()


def test_a_merge_of_plans_the_user_cannot_see_is_not_found(client_for, commissioner, outsider, cafe_ncl, cafe_camden):
    record = services.pair_merge(actor=commissioner, kept=cafe_ncl, retired=cafe_camden)
    from actionplan import services as plan_services
    from actionplan.models import PlanVisibility

    plan = cafe_camden.plan
    plan_services.plan_update(
        actor=commissioner, plan=plan, expected_version=plan.version, values={"visibility": PlanVisibility.PARTNERS}
    )
    assert client_for(outsider).get(f"/plans/duplicates/merges/{record.pk}/").status_code == 404
    assert client_for(outsider).post(f"/plans/duplicates/merges/{record.pk}/split/").status_code == 404
    assert client_for(commissioner).get(f"/plans/duplicates/merges/{record.pk}/").status_code == 200
