"""The candidate query: which pairs of actions look like the same work, and why."""

from __future__ import annotations

import pytest

from actionplan.duplicates import selectors, services
from actionplan.duplicates.selectors import CandidateFilters
from stakeholders.models import Area

pytestmark = pytest.mark.django_db


NO_FILTERS = CandidateFilters()


def _keys(user, filters=NO_FILTERS):
    return [(p.a.pk, p.b.pk) for p in selectors.candidate_page(user, filters, page_size=100).pairs]


def test_two_crisis_cafes_in_plans_covering_camden_are_a_pair_with_the_reasons(commissioner, cafe_ncl, cafe_camden):
    page = selectors.candidate_page(commissioner)
    assert page.total == 1
    pair = page.pairs[0]
    assert (pair.a, pair.b) == (cafe_ncl, cafe_camden)
    assert pair.title_similarity >= selectors.SIMILARITY_THRESHOLD
    assert pair.shared_areas == ["Crisis care"]
    assert pair.shared_boroughs == ["Camden"]  # the sub-region plan covers Camden through NCL
    assert not pair.london_wide
    assert {"crisis", "café", "evening"} <= set(pair.shared_words)
    reason = pair.reason
    assert reason.startswith(f"titles {round(pair.title_similarity * 100)}% alike")
    assert "both about Crisis care" in reason
    assert "both in Camden" in reason
    assert "shared words:" in reason


def test_actions_about_different_priority_areas_are_not_a_pair(
    commissioner, make_action, camden_plan, cafe_ncl, housing
):
    make_action(camden_plan, step=6, title="Open an evening crisis café in Camden", priority_areas=[housing])
    assert _keys(commissioner) == []


def test_actions_in_plans_with_no_borough_in_common_are_not_a_pair(
    commissioner, make_action, lambeth_plan, cafe_ncl, crisis
):
    make_action(lambeth_plan, step=6, title="Open an evening crisis café in Lambeth", priority_areas=[crisis])
    assert _keys(commissioner) == []


def test_a_london_wide_plan_overlaps_every_borough_plan(commissioner, make_plan, make_action, lambeth_plan, crisis):
    london = make_plan(title="London plan")  # pan-London by default
    a = make_action(london, step=6, title="Evening crisis cafés across London", priority_areas=[crisis])
    b = make_action(lambeth_plan, step=6, title="Evening crisis café in Lambeth", priority_areas=[crisis])
    (pair,) = selectors.candidate_page(commissioner).pairs
    assert (pair.a, pair.b) == (a, b)
    assert pair.shared_boroughs == ["Lambeth"]
    c = make_action(
        make_plan(title="Another London plan"), step=6, title="Evening crisis cafés in London", priority_areas=[crisis]
    )
    pairs = {(p.a.pk, p.b.pk): p for p in selectors.candidate_page(commissioner).pairs}
    assert pairs[(a.pk, c.pk)].london_wide
    assert "both London-wide" in pairs[(a.pk, c.pk)].reason


def test_unlike_titles_are_not_a_pair_even_with_a_shared_area_and_borough(
    commissioner, make_action, camden_plan, cafe_ncl, crisis
):
    make_action(camden_plan, step=6, title="Section 136 suites reviewed with the police", priority_areas=[crisis])
    assert _keys(commissioner) == []


def test_an_action_in_a_plan_the_user_cannot_see_is_never_paired(
    commissioner, outsider, make_action, private_plan, cafe_ncl, crisis
):
    hidden = make_action(
        private_plan,
        step=6,
        title="Open an evening crisis café in every NCL borough",
        actor=outsider,
        priority_areas=[crisis],
    )
    # Pan-London, so it overlaps NCL: Olly sees the pair only if he can see both plans (the NCL plan is public).
    assert _keys(outsider) == [(cafe_ncl.pk, hidden.pk)]
    assert _keys(commissioner) == []


def test_the_same_plan_can_hold_a_pair(commissioner, make_action, camden_plan, cafe_camden, crisis):
    twin = make_action(camden_plan, step=6, title="Open an evening crisis cafe in Camden", priority_areas=[crisis])
    assert _keys(commissioner) == [(cafe_camden.pk, twin.pk)]


def test_a_dismissed_pair_is_not_listed_until_it_is_undismissed(commissioner, cafe_ncl, cafe_camden):
    row = services.pair_dismiss(actor=commissioner, a=cafe_camden, b=cafe_ncl, reason="Different services")
    assert (row.action_a, row.action_b) == (cafe_ncl, cafe_camden)  # stored lower id first
    assert _keys(commissioner) == []
    services.pair_undismiss(actor=commissioner, dismissal=row)
    assert _keys(commissioner) == [(cafe_ncl.pk, cafe_camden.pk)]


def test_filters_narrow_by_priority_area_borough_and_plan(
    commissioner, cafe_ncl, cafe_camden, crisis, housing, lambeth_plan
):
    both = [(cafe_ncl.pk, cafe_camden.pk)]
    camden = Area.objects.get(short_code="CMD")
    lambeth = Area.objects.get(short_code="LAM")
    assert _keys(commissioner, CandidateFilters(priority_area=crisis.pk)) == both
    assert _keys(commissioner, CandidateFilters(priority_area=housing.pk)) == []
    assert _keys(commissioner, CandidateFilters(borough=camden.pk)) == both
    assert _keys(commissioner, CandidateFilters(borough=lambeth.pk)) == []
    assert _keys(commissioner, CandidateFilters(plan=cafe_camden.plan_id)) == both
    assert _keys(commissioner, CandidateFilters(plan=lambeth_plan.pk)) == []
    assert selectors.candidate_count(commissioner, CandidateFilters(plan=cafe_ncl.plan_id)) == 1


def test_pages_cut_in_the_database_and_count_every_pair(commissioner, make_plan, make_action, crisis):
    london = make_plan(title="London plan")
    for n in range(5):
        make_action(london, step=6, title=f"Evening crisis café number {n} in London", priority_areas=[crisis])
    everything = selectors.candidate_page(commissioner, page_size=100)
    assert everything.total == 10  # 5 choose 2
    first = selectors.candidate_page(commissioner, page=1, page_size=4)
    third = selectors.candidate_page(commissioner, page=3, page_size=4)
    assert first.total == third.total == 10
    assert [
        p.key for p in first.pairs + selectors.candidate_page(commissioner, page=2, page_size=4).pairs + third.pairs
    ] == [p.key for p in everything.pairs]


def test_a_title_word_common_to_many_actions_does_not_pair_them_by_itself(
    commissioner, make_plan, make_action, crisis, monkeypatch
):
    london = make_plan(title="London plan")
    for name in ("Alder", "Birch", "Cedar"):
        make_action(london, step=6, title=f"{name} crisis support hub", priority_areas=[crisis])
    assert selectors.candidate_count(commissioner) == 3
    # With "crisis", "support" and "hub" each in 3 actions, over a floor of 2, nothing is left to pair on.
    monkeypatch.setattr(selectors, "COMMON_WORD_FLOOR", 2)
    assert selectors.candidate_count(commissioner) == 0
