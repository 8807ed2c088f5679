"""Staff read every contract in full (found by the accessibility crawl: the register failed for them)."""

from __future__ import annotations

import pytest

from commissioning import permissions

pytestmark = pytest.mark.django_db


def test_staff_see_private_contracts_in_full_in_the_register(client_for, staff, contract):
    assert not contract.publishable
    assert contract in permissions.visible_contracts(staff)
    response = client_for(staff).get("/commissioning/contracts/")
    assert response.status_code == 200
    assert contract.reference in response.content.decode()


def test_a_stranger_still_sees_no_private_contract(outsider, contract):
    assert contract not in permissions.visible_contracts(outsider)
