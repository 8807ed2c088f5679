"""The consultations API: list and detail with public results, answering, change checks; problem details."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from actionplan import services as plan_services
from actionplan.models import ActionStatus, ChangeCheck, Participation
from actionplan.voice import services as voice_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_list_has_opened_consultations_on_plans_the_caller_may_see(
    public_plan, partners_plan, make_consultation, outsider
):
    shown = make_consultation(public_plan)
    make_consultation(public_plan, open=False, title="Draft")
    make_consultation(partners_plan, title="Partners only")
    body = api().get(reverse("consultation-list")).json()
    assert [c["id"] for c in body["results"]] == [shown.pk]
    assert body["results"][0]["state"] == "open" and body["results"][0]["respondents"] is None
    assert api(outsider).get(reverse("consultation-list"), {"plan": partners_plan.slug}).json()["count"] == 0


def test_the_detail_has_questions_and_controlled_results(public_plan, make_consultation, answer):
    c = make_consultation(public_plan)
    for where, n in ((0, 13), (1, 9), (2, 3)):
        for _ in range(n):
            answer(c, where=where, ease=3, helps=[0] if where == 0 else [])
    body = api().get(reverse("consultation-detail", args=[c.pk])).json()
    assert [q["kind"] for q in body["questions"]] == ["single", "multiple", "scale", "text"]
    results = body["results"]
    assert results["respondents"] == 25
    single = results["questions"][0]["breakdown"]["counts"]
    assert [(x["count"], x["shown"]) for x in single] == [(13, "shown"), (None, "not_shown"), (None, "fewer_than_5")]
    scale = results["questions"][2]
    assert scale["mean"] is None  # points 1, 2, 4 and 5 are under 5: no mean
    # Nobody said who they answer as: "did not say" (25) is hidden too, as it would show the others are 0.
    assert results["groups"]["counts"][-1] == {"label": "Did not say", "count": None, "shown": "not_shown"}


def test_a_draft_is_a_404_in_the_api_and_a_bad_id_too(public_plan, make_consultation, commissioner):
    c = make_consultation(public_plan, open=False)
    assert api().get(reverse("consultation-detail", args=[c.pk])).status_code == 404
    assert api(commissioner).get(reverse("consultation-detail", args=[c.pk])).status_code == 200
    assert api().get("/api/v1/consultations/x/").status_code == 404


def test_answering_through_the_api(public_plan, make_consultation, service_user):
    c = make_consultation(public_plan)
    single, _, scale, text = c.qs
    url = reverse("consultation-answers", args=[c.pk])
    assert api().post(url, {}, format="json").status_code in (401, 403)
    response = api(service_user).post(url, {"answers": {str(scale.pk): 9}}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {f"q{single.pk}", f"q{scale.pk}"} <= fields
    body = {"group": "service_user", "answers": {str(single.pk): [1], str(scale.pk): 4, str(text.pk): "Evenings."}}
    response = api(service_user).post(url, body, format="json")
    assert response.status_code == 201
    assert response.json()["answers"][str(scale.pk)] == 4
    assert Participation.objects.get().group == "service_user"
    assert api(service_user).post(url, [1, 2], format="json").status_code == 400


def test_answering_a_closed_consultation_is_a_400(public_plan, make_consultation, service_user):
    c = make_consultation(public_plan)
    c.__class__.objects.filter(pk=c.pk).update(opens_on="2020-01-01", closes_on="2020-02-01")
    response = api(service_user).post(
        reverse("consultation-answers", args=[c.pk]), {"answers": {str(c.qs[0].pk): [0]}}, format="json"
    )
    assert response.status_code == 400 and "not open" in str(response.json()["errors"])


def test_a_change_check_is_answered_by_its_person_only(public_plan, make_action, commissioner, service_user):
    action = make_action(public_plan)
    comment = voice_services.comment_create(actor=service_user, plan=public_plan, body="Weekends please")
    voice_services.response_save(
        actor=commissioner, comment=comment, disposition="accepted", text="Yes", action_changed=action
    )
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"status": ActionStatus.DONE}
    )
    check = ChangeCheck.objects.get()
    url = reverse("change-check-answer", args=[check.pk])
    assert api(UserFactory()).post(url, {"rating": 3}, format="json").status_code == 404
    assert api(service_user).post(url, {"rating": 7}, format="json").status_code == 400
    response = api(service_user).post(url, {"rating": 5, "comment": "Yes"}, format="json")
    assert response.status_code == 200 and response.json()["rating"] == 5
    assert api(service_user).post(url, {"rating": 4}, format="json").status_code == 400
    assert [c["id"] for c in api(service_user).get(reverse("change-check-list")).json()["results"]] == [check.pk]
