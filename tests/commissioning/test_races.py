"""Races on contract measures under real concurrent requests (issue 25, part 2).

Each round on a fresh measure: a PATCH and a DELETE with the same If-Match, and two
DELETEs. One wins; the other answers 412 or 404, never 500 and never a second 204.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from commissioning import services
from commissioning.models import ContractMeasure
from tests.races import Call, RaceTally, fire, token_headers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROUNDS = 12


def _measure(contract, indicator):
    return services.measure_create(actor=None, contract=contract, indicator=indicator, target=Decimal(30), share_bp=500)


def test_a_patch_and_a_delete_of_one_measure_never_both_succeed_nor_500(live_server, contract, recovery, commissioner):
    auth = {**token_headers(commissioner), "If-Match": '"v1"'}
    tally = RaceTally()
    for _ in range(ROUNDS):
        measure = _measure(contract, recovery)
        url = f"{live_server.url}/api/v1/contract-measures/{measure.pk}/"
        patch, delete = fire([Call("PATCH", url, auth, {"target": "31"}), Call("DELETE", url, auth)])
        tally.add([patch, delete], successes=(patch == 200) + (delete == 204))
        assert patch in (200, 404, 412) and delete in (204, 412), (patch, delete)
        stored = ContractMeasure.objects.filter(pk=measure.pk).first()
        assert (stored is not None and stored.target == Decimal(31)) if patch == 200 else stored is None
        ContractMeasure.objects.filter(pk=measure.pk).delete()
    print(f"\nrace: {tally}")  # the closing note's figures (pytest -s)
    assert tally.server_errors == 0 and tally.double_successes == 0, str(tally)


def test_two_deletes_of_one_measure_delete_it_once(live_server, contract, recovery, commissioner):
    auth = {**token_headers(commissioner), "If-Match": '"v1"'}
    tally = RaceTally()
    for _ in range(ROUNDS):
        measure = _measure(contract, recovery)
        url = f"{live_server.url}/api/v1/contract-measures/{measure.pk}/"
        codes = fire([Call("DELETE", url, auth), Call("DELETE", url, auth)])
        tally.add(codes, successes=codes.count(204))
        assert sorted(codes) in ([204, 404], [204, 412]), codes
    print(f"\nrace: {tally}")  # the closing note's figures (pytest -s)
    assert tally.server_errors == 0 and tally.double_successes == 0, str(tally)


def test_a_delete_from_an_old_version_is_412_and_keeps_the_measure(client_for, contract, recovery, commissioner):
    measure = _measure(contract, recovery)
    client = client_for(commissioner)
    url = f"/api/v1/contract-measures/{measure.pk}/"
    assert client.patch(url, {"target": "31"}, content_type="application/json", HTTP_IF_MATCH='"v1"').status_code == 200
    assert client.delete(url, HTTP_IF_MATCH='"v1"').status_code == 412
    assert ContractMeasure.objects.filter(pk=measure.pk).exists()
