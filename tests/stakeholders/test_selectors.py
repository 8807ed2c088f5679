"""Reads about people and organisations: filters and the figures they compute."""

from __future__ import annotations

import pytest

from stakeholders import selectors
from stakeholders.models import Membership, OrganisationType, Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_the_directory_filter_on_a_borough_still_counts_every_borough_served(
    commissioning_org, provider_org, other_org
):
    # NCL ICB serves Camden and Islington: filtering on Camden must not make it "1 borough".
    counts = {o.name: o.borough_count for o in selectors.organisation_list(borough="E09000007")}
    assert counts == {commissioning_org.name: 2, provider_org.name: 1}


def test_the_directory_filters_combine(commissioning_org, provider_org, other_org):
    found = selectors.organisation_list(type=OrganisationType.NHS_MH_PROVIDER, borough="E09000022")  # Lambeth
    assert list(found) == [other_org]
    assert list(selectors.organisation_list(q="ncl icb")) == [commissioning_org]


def test_memberships_of_my_organisations_cover_every_organisation_i_belong_to_once(
    commissioner, org_admin, outsider, commissioning_org, other_org
):
    # A second role in the same organisation must not duplicate its members.
    MembershipFactory(user=commissioner, organisation=commissioning_org, role=Role.ACADEMIC)
    mine = list(selectors.memberships_of_my_organisations(user=commissioner))
    assert {m.organisation for m in mine} == {commissioning_org}
    assert len(mine) == len(set(mine)) == Membership.objects.filter(organisation=commissioning_org).count()


def test_staff_see_every_membership(staff, commissioner, outsider):
    assert set(selectors.memberships_of_my_organisations(user=staff)) == set(Membership.objects.all())
