"""Issue 18: the key steps are the plan of action's own nine; the old clinical themes are
priority areas, a second dimension that plans, actions, evidence, the API and the CSV filter by."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from pghistory.models import Events

from actionplan import services
from actionplan.models import Action, EvidenceItem, KeyStep
from outcomes import services as outcome_services
from outcomes.models import PriorityArea
from tests.api.helpers import assert_problem
from tests.factories import IndicatorFactory

pytestmark = pytest.mark.django_db

# The plan of action's nine, in its order, in its words (the seeds' key findings).
PLAN_OF_ACTION = [
    "collaborative commissioning",
    "collective systems leadership",
    "service users and clinicians",
    "contracting systems",
    "public health approach to mental wellbeing",
    "pan-london solutions",
    "meaningful outcomes data",
    "academic infrastructure to disseminate best practice",
    "new narrative for mental health",
]
OLD_THEMES = [
    "prevention",
    "early-help",
    "children-young-people",
    "crisis-care",
    "severe-mental-illness",
    "physical-health",
    "life-chances",
    "research-evidence",
    "fairness-voice",
]


def _area(slug: str) -> PriorityArea:
    return PriorityArea.objects.get(slug=slug)


def test_the_key_steps_are_the_plan_of_actions_nine_in_its_order_and_words():
    titles = [t.lower() for t in KeyStep.objects.order_by("number").values_list("title", flat=True)]
    assert len(titles) == 9
    assert all(words in title for words, title in zip(PLAN_OF_ACTION, titles, strict=True))
    assert not KeyStep.objects.filter(slug__in=OLD_THEMES).exists()


def test_the_old_clinical_themes_are_priority_areas_with_the_same_slugs():
    assert list(PriorityArea.objects.values_list("slug", flat=True)) == OLD_THEMES
    assert _area("crisis-care").name == "Crisis care"
    assert all(PriorityArea.objects.values_list("description", flat=True))


# The data migration ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_data_migration_carries_every_theme_action_evidence_item_and_indicator_over(commissioning_org):
    before = [("actionplan", "0004_priority_areas"), ("outcomes", "0009_priority_areas")]
    # Back to before 0005: the rows are the themes again (its reverse), with KeyStep.indicators.
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    OldKeyStep = apps.get_model("actionplan", "KeyStep")
    OldAction = apps.get_model("actionplan", "Action")
    OldPlan = apps.get_model("actionplan", "Plan")
    OldEvidence = apps.get_model("actionplan", "EvidenceItem")
    OldIndicator = apps.get_model("outcomes", "Indicator")
    # A fresh database already ran 0005 once, so the areas exist; the migration must not duplicate them.
    apps.get_model("outcomes", "PriorityArea").objects.all().delete()
    themes = {s.slug: s for s in OldKeyStep.objects.all()}
    assert set(themes) == set(OLD_THEMES)

    s136 = OldIndicator.objects.create(
        code="mig-s136", name="Section 136", definition="x", measure="count", period_type="month"
    )
    themes["crisis-care"].indicators.add(s136)
    plan = OldPlan.objects.create(
        title="Migrated plan",
        slug="migrated-plan",
        scope="pan_london",
        lead_organisation_id=commissioning_org.pk,
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2027, 3, 31),
    )

    def old_action(theme: str, title: str):
        return OldAction.objects.create(
            plan=plan, key_step=themes[theme], title=title, owner_organisation_id=commissioning_org.pk
        )

    crisis = old_action("crisis-care", "Crisis cafés")
    research = old_action("research-evidence", "Evaluate the cafés")
    fairness = old_action("fairness-voice", "Co-produce the pathway")
    item = OldEvidence.objects.create(title="Café study", slug="cafe-study", summary="x", type="evaluation")
    item.key_steps.add(themes["crisis-care"])

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert [s.slug for s in KeyStep.objects.order_by("number")][:3] == [
        "collaborative-commissioning",
        "systems-leadership",
        "service-users-clinicians",
    ]
    assert list(PriorityArea.objects.values_list("slug", flat=True)) == OLD_THEMES
    assert list(_area("crisis-care").indicators.values_list("code", flat=True)) == ["mig-s136"]
    moved = {a.title: a for a in Action.objects.filter(plan_id=plan.pk).select_related("key_step")}
    # The mapping table: crisis care is solved pan-London, research is the academic
    # infrastructure, fairness and voice put service users and clinicians at the core.
    assert moved["Crisis cafés"].key_step.slug == "pan-london-solutions"
    assert moved["Evaluate the cafés"].key_step.slug == "academic-infrastructure"
    assert moved["Co-produce the pathway"].key_step.slug == "service-users-clinicians"
    for action, theme in ((crisis, "crisis-care"), (research, "research-evidence"), (fairness, "fairness-voice")):
        assert list(Action.objects.get(pk=action.pk).priority_areas.values_list("slug", flat=True)) == [theme]
    migrated = EvidenceItem.objects.get(pk=item.pk)
    assert list(migrated.priority_areas.values_list("slug", flat=True)) == ["crisis-care"]
    assert list(migrated.key_steps.values_list("slug", flat=True)) == ["pan-london-solutions"]


# Pages ------------------------------------------------------------------------------------


@pytest.fixture
def two_actions(public_plan, partners_plan, make_action):
    """Two actions in the public plan: crisis care under pan-London solutions (6), early help under
    collaborative commissioning (1); and a hidden one in the partners-only plan."""
    crisis = make_action(
        public_plan, step=6, title="Pan-London section 136 pathway", priority_areas=[_area("crisis-care")]
    )
    early = make_action(
        public_plan, step=1, title="One talking therapies specification", priority_areas=[_area("early-help")]
    )
    make_action(partners_plan, step=6, title="Hidden crisis work", priority_areas=[_area("crisis-care")])
    return crisis, early


def test_the_plans_list_filters_by_key_step_and_by_priority_area(client_for, two_actions, public_plan, make_plan):
    make_plan(title="Plan with no actions")
    client = client_for(None)

    def plans(**params):
        return client.get("/plans/", params).content.decode()

    assert public_plan.title in plans(priority_area="crisis-care")
    assert "Plan with no actions" not in plans(priority_area="crisis-care")
    assert public_plan.title in plans(key_step="1", priority_area="early-help")
    assert public_plan.title not in plans(priority_area="physical-health")


def test_my_work_filters_by_key_step_and_priority_area(client_for, commissioner, two_actions):
    client = client_for(commissioner)
    page = client.get("/my-work/", {"priority_area": "crisis-care"}).content.decode()
    assert "Pan-London section 136 pathway" in page and "One talking therapies specification" not in page
    page = client.get("/my-work/", {"key_step": "1"}).content.decode()
    assert "One talking therapies specification" in page and "Pan-London section 136 pathway" not in page
    page = client.get("/my-work/", {"key_step": "1", "priority_area": "crisis-care"}).content.decode()
    assert "None of your actions matches these filters" in page


def test_the_evidence_library_filters_by_priority_area(client_for, commissioner):
    services.evidence_create(
        actor=commissioner,
        title="Crisis café study",
        summary="x",
        type="evaluation",
        priority_areas=[_area("crisis-care")],
    )
    services.evidence_create(actor=commissioner, title="Housing first", summary="x", type="case_study")
    page = client_for(None).get("/evidence/", {"priority_area": "crisis-care"}).content.decode()
    assert "Crisis café study" in page and "Housing first" not in page


def test_the_plan_csv_names_each_actions_priority_areas(client_for, public_plan, two_actions):
    lines = client_for(None).get(f"/plans/{public_plan.slug}/export.csv").content.decode().splitlines()
    assert lines[0].startswith("key_step,key_step_title,priority_areas,")
    assert lines[1].startswith("1,Developing collaborative commissioning,early-help,")
    assert lines[2].startswith("6,Pan-London solutions,crisis-care,")


def test_the_plan_csv_filters_by_key_step_and_by_priority_area(client_for, public_plan, two_actions):
    url = f"/plans/{public_plan.slug}/export.csv"
    by_step = client_for(None).get(url, {"key_step": "6"}).content.decode().splitlines()
    by_area = client_for(None).get(url, {"priority_area": "early-help"}).content.decode().splitlines()
    neither = client_for(None).get(url, {"key_step": "6", "priority_area": "early-help"}).content.decode()
    assert [line.split(",")[0] for line in by_step[1:]] == ["6"]
    assert [line.split(",")[2] for line in by_area[1:]] == ["early-help"]
    assert neither.splitlines()[1:] == []


def test_the_plan_page_offers_the_csv_by_key_step_and_priority_area(client_for, public_plan, two_actions):
    page = client_for(None).get(f"/plans/{public_plan.slug}/").content.decode()
    assert f'action="/plans/{public_plan.slug}/export.csv"' in page
    assert 'name="key_step"' in page and 'name="priority_area"' in page


def test_an_unknown_filter_value_on_the_plan_csv_answers_400_saying_which(client_for, public_plan):
    response = client_for(None).get(f"/plans/{public_plan.slug}/export.csv", {"priority_area": "nonsense"})
    assert response.status_code == 400
    assert "priority_area" in response.content.decode()


def test_an_action_is_added_under_one_key_step_with_several_priority_areas(client_for, public_plan, commissioner):
    form = {
        "key_step": KeyStep.objects.get(number=4).pk,
        "priority_areas": [_area("crisis-care").pk, _area("fairness-voice").pk],
        "title": "Alliance contract for crisis care",
        "owner_organisation": public_plan.lead_organisation.pk,
        "status": "not_started",
        "progress": 0,
        "weight": 1,
    }
    response = client_for(commissioner).post(f"/plans/{public_plan.slug}/actions/new/", form)
    assert response.status_code == 302, response.content
    action = Action.objects.get(title="Alliance contract for crisis care")
    assert action.key_step.number == 4
    assert sorted(action.priority_areas.values_list("slug", flat=True)) == ["crisis-care", "fairness-voice"]


def test_a_retired_priority_area_stays_on_its_actions_but_is_refused_for_new_ones(public_plan, make_action):
    crisis = _area("crisis-care")
    kept = make_action(public_plan, title="Kept", priority_areas=[crisis])
    PriorityArea.objects.filter(pk=crisis.pk).update(is_active=False)
    crisis.refresh_from_db()
    with pytest.raises(ValidationError, match="No longer in use: Crisis care"):
        make_action(public_plan, title="New", priority_areas=[crisis])
    services.action_update(
        actor=public_plan.created_by, action=kept, expected_version=kept.version, values={}, priority_areas=[crisis]
    )
    assert list(kept.priority_areas.all()) == [crisis]


def test_the_overview_groups_indicators_by_priority_area(client_for):
    first = IndicatorFactory(code="g-a", name="Crisis referrals", definition="x", measure="count", period_type="month")
    IndicatorFactory(code="g-b", name="Ungrouped measure", definition="x", measure="count", period_type="month")
    _area("crisis-care").indicators.add(first)
    page = client_for(None).get("/dashboards/").content.decode()
    groups = page[page.index('id="by-priority-area"') :]
    assert groups.index("Crisis care") < groups.index("Crisis referrals") < groups.index("Not yet in a priority area")
    assert groups.index("Not yet in a priority area") < groups.index("Ungrouped measure")


# The API ----------------------------------------------------------------------------------


def test_anyone_reads_the_priority_areas_with_their_indicators(client_for):
    ind = IndicatorFactory(code="pa-ind", name="x", definition="x", measure="count", period_type="month")
    _area("crisis-care").indicators.add(ind)
    body = client_for(None).get("/api/v1/priority-areas/").json()
    assert [a["slug"] for a in body] == OLD_THEMES
    crisis = next(a for a in body if a["slug"] == "crisis-care")
    assert crisis["indicators"] == ["pa-ind"] and crisis["is_active"] is True
    assert client_for(None).get("/api/v1/priority-areas/crisis-care/").json()["name"] == "Crisis care"
    assert_problem(client_for(None).get("/api/v1/priority-areas/no-such-area/"), 404)
    steps = client_for(None).get("/api/v1/key-steps/").json()
    assert steps[6]["title"] == "Meaningful outcomes data" and "indicators" not in steps[6]


def test_the_api_filters_plans_actions_and_evidence_by_both_dimensions(
    client_for, commissioner, two_actions, public_plan
):
    services.evidence_create(
        actor=commissioner,
        title="Crisis café study",
        summary="x",
        type="evaluation",
        key_steps=[KeyStep.objects.get(number=8)],
        priority_areas=[_area("crisis-care")],
    )
    client = client_for(None)

    def titles(url, **params):
        return sorted(r["title"] for r in client.get(url, params).json()["results"])

    assert titles("/api/v1/actions/", priority_area="crisis-care") == ["Pan-London section 136 pathway"]
    assert titles("/api/v1/actions/", key_step=1, priority_area="crisis-care") == []
    assert titles("/api/v1/actions/", key_step=1) == ["One talking therapies specification"]
    assert titles("/api/v1/plans/", priority_area="early-help", key_step=1) == [public_plan.title]
    assert titles("/api/v1/plans/", priority_area="physical-health") == []
    assert titles("/api/v1/evidence/", priority_area="crisis-care", key_step=8) == ["Crisis café study"]
    assert titles("/api/v1/evidence/", priority_area="early-help") == []
    action = client.get("/api/v1/actions/", {"priority_area": "crisis-care"}).json()["results"][0]
    assert action["key_step"] == 6 and action["priority_areas"] == ["crisis-care"]


@pytest.mark.parametrize("url", ["/api/v1/plans/", "/api/v1/actions/", "/api/v1/evidence/"])
@pytest.mark.parametrize("params", [{"priority_area": "no-such-area"}, {"key_step": 10}, {"key_step": "crisis"}])
def test_an_unknown_key_step_or_priority_area_answers_400(client_for, url, params):
    assert_problem(client_for(None).get(url, params), 400)


def test_the_api_creates_and_edits_an_actions_priority_areas(client_for, public_plan, commissioner):
    client = client_for(commissioner)
    body = {
        "plan": public_plan.slug,
        "key_step": 7,
        "priority_areas": ["early-help", "severe-mental-illness"],
        "title": "Agree one London outcomes framework",
        "owner_organisation": public_plan.lead_organisation.slug,
    }
    created = client.post("/api/v1/actions/", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["priority_areas"] == ["early-help", "severe-mental-illness"]
    url = f"/api/v1/actions/{created.json()['id']}/"
    changed = client.patch(
        url, json.dumps({"priority_areas": ["prevention"]}), content_type="application/json", HTTP_IF_MATCH='"v1"'
    )
    assert changed.status_code == 200, changed.content
    assert Action.objects.get(pk=created.json()["id"]).priority_areas.get().slug == "prevention"
    body["priority_areas"] = ["no-such-area"]
    assert_problem(client.post("/api/v1/actions/", json.dumps(body), content_type="application/json"), 400)


# Staff keep the list ----------------------------------------------------------------------


def test_staff_edit_a_priority_area_in_the_admin_and_the_change_is_in_its_history(client_for, staff, commissioner):
    area = _area("crisis-care")
    url = f"/admin/outcomes/priorityarea/{area.pk}/change/"
    assert client_for(commissioner).get(url).status_code == 302  # not staff: the admin's sign-in
    client = client_for(staff)
    form = {
        "name": "Crisis care and urgent help",
        "slug": "crisis-care",
        "description": area.description,
        "ordering": 40,
        "is_active": "on",
        "indicators": [],
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content
    area.refresh_from_db()
    assert area.name == "Crisis care and urgent help"
    event = Events.objects.tracks(area).order_by("-pgh_id").first()
    assert event.pgh_context["user"] == staff.pk
    assert "Crisis care and urgent help" in client.get(url).content.decode()
    assert "Crisis care → Crisis care and urgent help" in client.get(url).content.decode()


def test_only_staff_may_keep_the_priority_areas(client_for, commissioner):
    area = _area("prevention")
    area.name = "Prevention"
    with pytest.raises(PermissionDenied):
        outcome_services.priority_area_save(actor=commissioner, area=area)
    area.refresh_from_db()
    assert area.name == "Prevention and public mental health"


def test_the_demo_fills_every_one_of_the_nine_steps(settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", "--quiet")
    for step in KeyStep.objects.all():
        assert step.actions.count() >= 5, step
    assert not Action.objects.filter(priority_areas=None).exists()


def test_an_indicators_page_names_the_priority_areas_it_measures(client_for):
    ind = IndicatorFactory(code="pa-page", name="x", definition="x", measure="count", period_type="month")
    _area("crisis-care").indicators.add(ind)
    _area("severe-mental-illness").indicators.add(ind)
    page = client_for(None).get("/indicators/pa-page/").content.decode()
    assert "Crisis care, Severe mental illness" in page
