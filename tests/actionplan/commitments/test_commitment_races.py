"""Two partners' members recording the same commitment cell at the same moment (real concurrent
requests against the live server): one is created, the other is told someone recorded it a
moment ago (400), never a 500 from the unique constraint."""

from __future__ import annotations

import pytest

from actionplan.models import Commitment
from tests.races import Call, RaceTally, fire, token_headers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_two_creates_of_one_cell_make_one_commitment_and_never_500(live_server, plan, commissioner, commissioning_org):
    url = f"{live_server.url}/api/v1/plans/{plan.slug}/commitments/"
    auth = token_headers(commissioner)
    tally = RaceTally()
    for step in range(1, 10):  # one round per key step: each round contests a fresh cell
        body = {"organisation": commissioning_org.slug, "key_step": step, "contribution": f"Step {step}."}
        codes = fire([Call("POST", url, auth, body), Call("POST", url, auth, {**body, "contribution": "Other."})])
        tally.add(codes, successes=codes.count(201))
        assert sorted(codes) == [201, 400], codes
        assert Commitment.objects.filter(plan=plan, organisation=commissioning_org, key_step__number=step).count() == 1
    print(f"\nrace: {tally}")
    assert tally.server_errors == 0 and tally.double_successes == 0, str(tally)
