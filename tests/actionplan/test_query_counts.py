"""Exact query counts for plan pages and lists, at two data sizes so an N+1 cannot hide.

The plan page is the issue's yardstick: nine key steps x N actions x 3 milestones, with
indicator links, priority areas, dependencies and published figures, renders in the same
number of queries at 2 and at 20 actions per step.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from actionplan import services
from actionplan.models import Action, ActionIndicator, ActionStatus, EvidenceItem, KeyStep, Milestone, Plan
from outcomes.models import Indicator, Metric, PriorityArea
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

# A signed-in page adds the header's and session's queries (named where it is defined).
from tests.stakeholders.test_query_counts import SIGNED_IN_OVERHEAD  # noqa: E402


def _indicators_with_figures(n: int = 3) -> list[Indicator]:
    """Indicators measuring crisis care with 14 months of London and NCL figures each."""
    london = Area.objects.get(level=AreaLevel.LONDON)
    ncl = Area.objects.get(short_code="NCL")
    indicators = []
    metrics = []
    for i in range(n):
        ind = IndicatorFactory(
            code=f"qc-{i}", name=f"Query count indicator {i}", definition="x", measure="proportion", period_type="month"
        )
        indicators.append(ind)
        for month in range(14):
            for area in (london, ncl):
                metrics.append(
                    Metric(
                        indicator=ind,
                        area=area,
                        period_start=dt.date(2025 + (month // 12), month % 12 + 1, 1),
                        basis=Metric.Basis.APPROVED,
                        numerator=Decimal(400 + month),
                        denominator=1000,
                        value=Decimal(40 + month / 10),
                        computed_at=timezone.now(),
                    )
                )
    Metric.objects.bulk_create(metrics)
    PriorityArea.objects.get(slug="crisis-care").indicators.add(*indicators)
    return indicators


def _fill(plan: Plan, per_step: int, indicators: list[Indicator], owner) -> None:
    """per_step actions under each key step, 3 milestones each, one indicator link, two priority
    areas and one dependency each."""
    steps = list(KeyStep.objects.order_by("number"))
    actions = Action.objects.bulk_create(
        Action(
            plan=plan,
            key_step=step,
            title=f"Action {step.number}.{i}",
            owner_organisation=owner,
            status=[ActionStatus.ON_TRACK, ActionStatus.AT_RISK][i % 2],
            progress=i % 100,
            due_date=dt.date(2020 + i % 10, 1, 1),
            weight=1 + i % 3,
        )
        for step in steps
        for i in range(per_step)
    )
    Milestone.objects.bulk_create(
        Milestone(action=a, title=f"M{k}", due=dt.date(2027, 1, 1) + dt.timedelta(days=k))
        for a in actions
        for k in range(3)
    )
    ActionIndicator.objects.bulk_create(
        ActionIndicator(action=a, indicator=indicators[n % len(indicators)], target=Decimal(50))
        for n, a in enumerate(actions)
    )
    areas = list(PriorityArea.objects.order_by("ordering"))
    in_area = Action.priority_areas.through
    in_area.objects.bulk_create(
        in_area(action_id=a.pk, priorityarea_id=areas[(n + k) % len(areas)].pk)
        for n, a in enumerate(actions)
        for k in range(2)
    )
    through = Action.dependencies.through
    through.objects.bulk_create(through(from_action_id=b.pk, to_action_id=a.pk) for a, b in itertools.pairwise(actions))


@pytest.fixture(params=[2, 20], ids=["2-per-step", "20-per-step"])
def big_plan(request, make_plan, commissioning_org):
    indicators = _indicators_with_figures()
    plan = make_plan(title="Query count plan", scope="sub_region", areas=[Area.objects.get(short_code="NCL")])
    _fill(plan, request.param, indicators, commissioning_org)
    assert plan.actions.count() == 9 * request.param
    return plan


def test_the_plan_page_runs_a_fixed_number_of_queries(client_for, big_plan, django_assert_num_queries):
    client = client_for(None)
    # 1 the plan with its lead organisation and creator, 2 its areas, 3 its partners,
    # 4 the key steps, 5 the actions with owner and lead, 6 their milestones, 7 their
    # indicator links with the indicators, 8 their dependencies, 9 their priority areas,
    # 10 London, 11 the last 12 published figures per indicator and area (one window query),
    # 12 the comment summary of the voice panel (one aggregate), 13 and 14 the key steps and the
    # priority areas offered by the CSV download form.
    with django_assert_num_queries(14):
        response = client.get(f"/plans/{big_plan.slug}/")
    assert response.status_code == 200
    assert response.content.decode().count('id="action-') == big_plan.actions.count()


def test_the_plan_page_for_its_manager_adds_only_the_grant_and_role_lookups(
    client_for, big_plan, commissioner, django_assert_num_queries
):
    client = client_for(commissioner)
    # The anonymous page's 14, the signed-in overhead, 1 the user's grants on the plan (both
    # tables, one UNION), 1 the number of possible duplicates involving the plan (issue 23, one
    # statement: actionplan.duplicates). A manager may comment, so the roles are never needed.
    with django_assert_num_queries(14 + SIGNED_IN_OVERHEAD + 2):
        response = client.get(f"/plans/{big_plan.slug}/")
    assert 'hx-post="' in response.content.decode()


def test_the_csv_export_runs_a_fixed_number_of_queries(client_for, big_plan, django_assert_num_queries):
    # The plan page's queries without the figures (London and the metrics).
    with django_assert_num_queries(9):
        response = client_for(None).get(f"/plans/{big_plan.slug}/export.csv")
    assert len(response.content.decode().splitlines()) == big_plan.actions.count() + 1


@pytest.fixture(params=[5, 40], ids=["5-plans", "40-plans"])
def many_plans(request, make_plan, commissioning_org, other_org):
    camden = Area.objects.get(short_code="CMD")
    for i in range(request.param):
        plan = make_plan(title=f"Plan {i}", scope="boroughs", areas=[camden])
        plan.partners.add(other_org)
        _fill(plan, 1, _indicators_for_list(), commissioning_org)
    return request.param


def _indicators_for_list() -> list[Indicator]:
    ind, _ = Indicator.objects.get_or_create(
        code="qc-list", defaults={"name": "List", "definition": "x", "measure": "count", "period_type": "month"}
    )
    return [ind]


def test_the_plan_list_runs_a_fixed_number_of_queries(client_for, many_plans, django_assert_num_queries):
    # 1 the borough filter's choices, 2 the key-step filter's choices, 3 the priority-area
    # filter's choices, 4 COUNT for the pager, 5 the page of plans with their lead
    # organisations, 6 their areas, 7 their action summaries (one query for the page).
    with django_assert_num_queries(7):
        response = client_for(None).get("/plans/")
    assert response.status_code == 200


def test_the_signed_in_plan_list_adds_the_overhead_and_one_role_lookup(
    client_for, many_plans, outsider, django_assert_num_queries
):
    # The anonymous list's 7, the signed-in overhead, 1 the chosen borough, 1 the chosen key
    # step, 1 the chosen priority area (the filter form), 1 the roles (may they start a plan?).
    # The grant subqueries run inside the COUNT and page.
    client = client_for(outsider)
    params = {"borough": "CMD", "status": "active", "key_step": "1", "priority_area": "crisis-care"}
    with django_assert_num_queries(7 + SIGNED_IN_OVERHEAD + 4):
        response = client.get("/plans/", params)
    assert response.status_code == 200


def test_my_work_runs_a_fixed_number_of_queries(client_for, many_plans, commissioner, django_assert_num_queries):
    # Signed-in overhead, 1 the key-step filter's choices, 2 the priority-area filter's choices,
    # 3 the user's organisations, 4 COUNT, 5 the page of actions with plan, step, owner and
    # lead, 6 their priority areas.
    client = client_for(commissioner)
    with django_assert_num_queries(SIGNED_IN_OVERHEAD + 6):
        response = client.get("/my-work/")
    # The lead organisation owns every action (9 per plan); a page holds 50, plus the header row.
    assert response.content.decode().count('<tr class="nhsuk-table__row') == min(many_plans * 9, 50) + 1


def test_the_api_plan_and_action_lists_run_a_fixed_number_of_queries(client_for, many_plans, django_assert_num_queries):
    client = client_for(None)
    # 1 COUNT, 2 the plans with lead organisations, 3 areas, 4 partners, 5 action summaries.
    with django_assert_num_queries(5):
        assert client.get("/api/v1/plans/").status_code == 200
    # 1 COUNT, 2 the actions with plan, step, owner and lead, 3 partners, 4 dependencies,
    # 5 indicator links with indicators, 6 evidence, 7 milestones, 8 priority areas,
    # 9 progress notes with their authors.
    with django_assert_num_queries(9):
        assert client.get("/api/v1/actions/").status_code == 200
    # Filtered by both dimensions: 1 the key step, 2 the priority area (the filter form), then the 9.
    link = Action.priority_areas.through.objects.select_related("action__key_step", "priorityarea").first()
    params = {"key_step": link.action.key_step.number, "priority_area": link.priorityarea.slug}
    with django_assert_num_queries(11):
        response = client.get("/api/v1/actions/", params)
    assert response.json()["count"] == many_plans  # one such action per plan


@pytest.fixture(params=[3, 30], ids=["3-items", "30-items"])
def library(request, commissioner):
    steps = list(KeyStep.objects.all())
    areas = list(PriorityArea.objects.order_by("ordering"))
    for i in range(request.param):
        services.evidence_create(
            actor=commissioner,
            title=f"Evidence {i} on crisis care",
            summary="Crisis cafés work.",
            type="evaluation",
            key_steps=steps[:2],
            priority_areas=areas[i % 3 : i % 3 + 2],
        )
    return request.param


def test_the_evidence_library_runs_a_fixed_number_of_queries(client_for, library, django_assert_num_queries):
    # 1 the key-step filter's choices, 2 the priority-area filter's choices, 3 COUNT, 4 the page
    # with organisations, 5 their key steps, 6 their priority areas.
    with django_assert_num_queries(6):
        response = client_for(None).get("/evidence/", {"q": "crisis"})
    assert response.status_code == 200
    assert EvidenceItem.objects.count() == library


def test_the_key_steps_page_runs_a_fixed_number_of_queries(client_for, big_plan, django_assert_num_queries):
    # 1 the nine key steps, 2 how many actions the visitor may see under each (one aggregate).
    with django_assert_num_queries(2):
        assert client_for(None).get("/key-steps/").status_code == 200


def test_a_key_step_page_runs_a_fixed_number_of_queries(client_for, big_plan, django_assert_num_queries):
    # 1 the key step, 2 the priority-area filter's choices, 3 the chosen priority area,
    # 4 COUNT, 5 the page of actions with plan and owner, 6 their priority areas, 7 the evidence
    # tagged with the step.
    area = PriorityArea.objects.filter(actions__key_step__number=3).first()
    with django_assert_num_queries(7):
        response = client_for(None).get("/key-steps/3/", {"priority_area": area.slug})
    assert response.status_code == 200
    assert response.content.decode().count('<tr class="nhsuk-table__row">') > 1


def test_a_member_of_many_organisations_still_gets_one_grant_query(commissioner, public_plan):
    from actionplan import permissions

    for _ in range(5):
        MembershipFactory(user=commissioner, organisation=OrganisationFactory())
    fresh = type(commissioner).objects.get(pk=commissioner.pk)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        permissions.can_manage_plan(fresh, public_plan)
        permissions.can_change_plan(fresh, public_plan)
        permissions.can_view_plan(fresh, public_plan)
    assert len(ctx.captured_queries) == 1


@pytest.fixture(params=[120, 300], ids=["120-changes", "300-changes"])
def long_history(request, public_plan, make_action, commissioner):
    """A plan whose action's progress was updated ``param`` times after it and three milestones
    were created. Returns how many events its history holds."""
    import pghistory

    action = make_action(public_plan, title="Crisis line")
    Milestone.objects.bulk_create(
        Milestone(action=action, title=f"M{k}", due=dt.date(2027, 1, 1) + dt.timedelta(days=k)) for k in range(3)
    )
    with pghistory.context(user=commissioner.pk):
        for n in range(request.param):
            Action.objects.filter(pk=action.pk).update(progress=n % 99 + 1)
    # One test transaction stamps every event with the same time; spread them out as real
    # use would (creations first, then one progress update a minute).
    start = timezone.now() - dt.timedelta(days=1)
    for model in (Plan, Milestone):
        model.pgh_event_model.objects.update(pgh_created_at=start)
    events = Action.pgh_event_model.objects.filter(pgh_obj_id=action.pk)
    for n, pk in enumerate(events.order_by("pgh_id").values_list("pgh_id", flat=True)):
        events.filter(pgh_id=pk).update(pgh_created_at=start + dt.timedelta(minutes=n))
    from actionplan import selectors

    return selectors.plan_events(public_plan).count()


def test_the_plan_history_is_paged_in_a_fixed_number_of_queries(client_for, long_history, django_assert_num_queries):
    # 1 the plan with its lead organisation and creator, 2 the ids of every action the plan ever
    # had, 3 and 4 COUNT of the plan-and-action events and of the milestone-and-link events, 5
    # and 6 the newest events of each up to the page's end (merged in Python), 7 the people
    # who made them. The history used to stop at 200 changes with no way to older ones.
    client = client_for(None)
    url = f"/plans/{Plan.objects.get().slug}/history/"
    with django_assert_num_queries(7):
        response = client.get(url, {"page": 2})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="lmh-history__entry"') == 50
    assert 'class="nhsuk-pagination' in page
    assert f"Showing 51 to 100 of {long_history}" in page
    assert long_history > 120


def test_the_last_page_of_a_plan_history_reaches_its_first_change(client_for, long_history):
    client = client_for(None)
    slug = Plan.objects.get().slug
    last = (long_history + 49) // 50
    page = client.get(f"/plans/{slug}/history/", {"page": last}).content.decode()
    assert "created by" in page  # the plan's own creation is the oldest change
    assert client.get(f"/plans/{slug}/history/", {"page": 9999}).status_code == 200  # out of range: the last page
