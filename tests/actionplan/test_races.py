"""Races on plans and actions under real concurrent requests (issue 25, part 2).

Threads against the live server, each round on a fresh action: a PATCH and a DELETE sent
with the same If-Match, and two DELETEs. Exactly one may succeed; the other answers 412
(stale) or 404 (gone), never 500, and an acknowledged PATCH is never deleted unseen.
"""

from __future__ import annotations

import pytest

from actionplan.models import Action, Plan, PlanStatus
from tests.races import Call, RaceTally, fire, token_headers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROUNDS = 12


def test_a_patch_and_a_delete_from_one_version_never_both_succeed_nor_500(
    live_server, make_plan, make_action, commissioner
):
    plan = make_plan(title="Race plan")
    auth = {**token_headers(commissioner), "If-Match": '"v1"'}
    tally = RaceTally()
    for n in range(ROUNDS):
        action = make_action(plan, title=f"Contested {n}")
        url = f"{live_server.url}/api/v1/actions/{action.pk}/"
        patch, delete = fire([Call("PATCH", url, auth, {"progress": 40}), Call("DELETE", url, auth)])
        tally.add([patch, delete], successes=(patch == 200) + (delete == 204))
        assert patch in (200, 404, 412) and delete in (204, 412), (patch, delete)
        stored = Action.objects.filter(pk=action.pk).first()
        # Whoever won, the stored state is exactly theirs: an acknowledged PATCH is still there.
        assert (stored is not None and stored.progress == 40) if patch == 200 else stored is None
    print(f"\nrace: {tally}")  # the closing note's figures (pytest -s)
    assert tally.server_errors == 0 and tally.double_successes == 0, str(tally)


def test_two_deletes_of_one_action_delete_it_once(live_server, make_plan, make_action, commissioner):
    plan = make_plan(title="Race plan")
    auth = {**token_headers(commissioner), "If-Match": '"v1"'}
    tally = RaceTally()
    for n in range(ROUNDS):
        action = make_action(plan, title=f"Deleted twice {n}")
        url = f"{live_server.url}/api/v1/actions/{action.pk}/"
        codes = fire([Call("DELETE", url, auth), Call("DELETE", url, auth)])
        tally.add(codes, successes=codes.count(204))
        assert sorted(codes) in ([204, 404], [204, 412]), codes
    print(f"\nrace: {tally}")  # the closing note's figures (pytest -s)
    assert tally.server_errors == 0 and tally.double_successes == 0, str(tally)


def test_two_status_changes_from_one_version_move_the_plan_once(live_server, make_plan, commissioner):
    auth = {**token_headers(commissioner), "If-Match": '"v1"'}
    tally = RaceTally()
    for n in range(ROUNDS // 2):
        plan = make_plan(title=f"Status race {n}", status=PlanStatus.DRAFT)
        url = f"{live_server.url}/api/v1/plans/{plan.slug}/status/"
        body = {"status": PlanStatus.CONSULTATION}
        codes = fire([Call("POST", url, auth, body), Call("POST", url, auth, body)])
        tally.add(codes, successes=codes.count(200))
        assert sorted(codes) == [200, 412], codes
        assert Plan.objects.get(pk=plan.pk).version == 2
    print(f"\nrace: {tally}")  # the closing note's figures (pytest -s)
    assert tally.server_errors == 0 and tally.double_successes == 0, str(tally)


def test_a_status_change_with_a_stale_if_match_is_412_not_a_refused_transition(client_for, make_plan, commissioner):
    plan = make_plan(title="Moved on", status=PlanStatus.DRAFT)
    client = client_for(commissioner)
    url = f"/api/v1/plans/{plan.slug}/status/"
    body = {"status": PlanStatus.CONSULTATION}
    assert client.post(url, body, content_type="application/json", HTTP_IF_MATCH='"v1"').status_code == 200
    again = client.post(url, body, content_type="application/json", HTTP_IF_MATCH='"v1"')
    assert again.status_code == 412, again.content
    assert '"v2"' in again.json()["detail"]
