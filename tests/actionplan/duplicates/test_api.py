"""The duplicates API: list, dismiss, merge or propose, split; problem details on errors."""

from __future__ import annotations

import pytest

from actionplan.duplicates.models import DismissedPair, MergeRecord

pytestmark = pytest.mark.django_db


def _post(client, url, body):
    return client.post(url, data=body, content_type="application/json")


def test_the_list_needs_a_signed_in_caller(client_for, cafe_ncl, cafe_camden):
    response = client_for().get("/api/v1/duplicates/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/problem+json")


def test_the_list_gives_each_pair_and_why(client_for, commissioner, cafe_ncl, cafe_camden, crisis):
    body = client_for(commissioner).get("/api/v1/duplicates/", {"priority_area": crisis.slug}).json()
    assert body["count"] == 1 and body["pages"] == 1
    (pair,) = body["results"]
    assert (pair["a"]["id"], pair["b"]["id"]) == (cafe_ncl.pk, cafe_camden.pk)
    assert pair["a"]["plan"] == cafe_ncl.plan.slug
    assert pair["shared_priority_areas"] == ["Crisis care"]
    assert pair["shared_boroughs"] == ["Camden"]
    assert "crisis" in pair["shared_words"]
    assert pair["reason"].startswith("titles ")


def test_an_unknown_filter_value_is_a_400_problem(client_for, commissioner):
    response = client_for(commissioner).get("/api/v1/duplicates/", {"plan": "no-such-plan"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "plan"


def test_dismiss_allowed_forbidden_not_found_and_invalid(
    client_for, commissioner, provider, outsider, make_action, private_plan, cafe_ncl, cafe_camden, crisis
):
    body = {"a": cafe_camden.pk, "b": cafe_ncl.pk, "reason": "One is a helpline"}
    assert _post(client_for(provider), "/api/v1/duplicates/dismiss/", body).status_code == 403
    hidden = make_action(
        private_plan, step=6, title="Open an evening crisis café", actor=outsider, priority_areas=[crisis]
    )
    assert _post(client_for(commissioner), "/api/v1/duplicates/dismiss/", {**body, "b": hidden.pk}).status_code == 404
    invalid = _post(client_for(commissioner), "/api/v1/duplicates/dismiss/", {"a": cafe_ncl.pk, "b": cafe_camden.pk})
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["field"] == "reason"
    ok = _post(client_for(commissioner), "/api/v1/duplicates/dismiss/", body)
    assert ok.status_code == 201
    assert ok.json()["action_a"] == cafe_ncl.pk and ok.json()["dismissed_by"] == "Casey Commissioner"
    assert DismissedPair.objects.count() == 1
    again = _post(client_for(commissioner), "/api/v1/duplicates/dismiss/", body)
    assert again.status_code == 400


def test_merge_then_split_over_the_api(client_for, commissioner, provider, cafe_ncl, cafe_camden):
    body = {"keep": cafe_ncl.pk, "retire": cafe_camden.pk, "reason": "Same café"}
    assert _post(client_for(provider), "/api/v1/duplicates/merge/", body).status_code == 403
    response = _post(client_for(commissioner), "/api/v1/duplicates/merge/", body)
    assert response.status_code == 201
    record = response.json()
    assert record["kept"] == cafe_ncl.pk and record["retired"] == cafe_camden.pk and record["live"]
    split_url = f"/api/v1/duplicates/merges/{record['id']}/split/"
    assert _post(client_for(provider), split_url, {}).status_code == 403
    assert _post(client_for(commissioner), "/api/v1/duplicates/merges/999999/split/", {}).status_code == 404
    split = _post(client_for(commissioner), split_url, {"reason": "Two cafés"})
    assert split.status_code == 200 and not split.json()["live"]
    assert not MergeRecord.objects.filter(split_at__isnull=True).exists()


def test_a_manager_of_one_plan_gets_a_proposal_not_a_merge(
    client_for, commissioner, outsider, make_action, other_manager_plan, cafe_ncl, crisis
):
    theirs = make_action(
        other_manager_plan,
        step=6,
        title="Open an evening crisis café in every borough",
        actor=outsider,
        priority_areas=[crisis],
    )
    response = _post(client_for(commissioner), "/api/v1/duplicates/merge/", {"keep": cafe_ncl.pk, "retire": theirs.pk})
    assert response.status_code == 202
    assert response.json() == {"proposed": True, "told": 1}
    assert not MergeRecord.objects.exists()
