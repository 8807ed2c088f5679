"""The commitment matrix page and an organisation's commitments in a fixed number of queries,
measured at two sizes so an N+1 cannot hide."""

from __future__ import annotations

import pytest

from actionplan.commitments import services
from actionplan.models import KeyStep, PlanStatus
from stakeholders.models import Role
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def _fill(plan, commissioner, commissioning_org, make_action, partners: int, steps: int) -> None:
    """The lead and `partners` more organisations, each committing under `steps` steps with an
    action linked, each signed by its own organisation admin."""
    orgs = [OrganisationFactory() for _ in range(partners)]
    plan.partners.set(orgs)
    for org in [commissioning_org, *orgs]:
        admin = (
            commissioner if org == commissioning_org else MembershipFactory(organisation=org, role=Role.ORG_ADMIN).user
        )
        for number in range(1, steps + 1):
            action = make_action(plan, step=number, title=f"{org.name} action {number}", owner_organisation=org)
            services.commitment_save(
                actor=admin,
                plan=plan,
                organisation=org,
                key_step=KeyStep.objects.get(number=number),
                contribution=f"{org.name} under step {number}",
                actions=[action],
            )
        services.commitments_sign(actor=admin, plan=plan, organisation=org)


# 1 the plan with its lead, 2 its partners (prefetch), 3 the partners' ids, 4 the organisations,
# 5 the key steps, 6 the commitments, 7 their action links with actions, 8 the sign-offs with
# signers, 9 the representatives, then the recent history: 10 the events, 11 the people who made
# them, 12 to 15 the records the entries' fields name (organisations, key steps, people, plans).
MATRIX_QUERIES = 15


@pytest.mark.parametrize(("partners", "steps"), [(1, 1), (6, 5)])
def test_the_matrix_page_runs_a_fixed_number_of_queries(
    make_plan, commissioner, commissioning_org, make_action, client_for, django_assert_num_queries, partners, steps
):
    plan = make_plan(title="Counted plan", status=PlanStatus.ACTIVE)
    _fill(plan, commissioner, commissioning_org, make_action, partners, steps)
    client = client_for(None)
    with django_assert_num_queries(MATRIX_QUERIES):
        response = client.get(f"/plans/{plan.slug}/commitments/")
    assert response.status_code == 200
    assert response.content.decode().count("under step") == (partners + 1) * steps


# 1-2 the organisation and the plans the viewer may see (a subquery in each of): 2 commitments
# with plan and step, 3 their action links, 4 owned actions, 5 co-owned actions.
@pytest.mark.parametrize(("partners", "steps"), [(1, 1), (4, 4)])
def test_an_organisations_commitments_page_runs_a_fixed_number_of_queries(
    make_plan, commissioner, commissioning_org, make_action, client_for, django_assert_num_queries, partners, steps
):
    plan = make_plan(title="Counted plan", status=PlanStatus.ACTIVE)
    _fill(plan, commissioner, commissioning_org, make_action, partners, steps)
    client = client_for(None)
    with django_assert_num_queries(5):
        response = client.get(f"/organisations/{commissioning_org.slug}/commitments/")
    assert response.status_code == 200
