"""The evidence library and the key-step pages: who publishes, search, citations, published figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actionplan import services
from actionplan.models import EvidenceItem, KeyStep
from outcomes.models import PriorityArea
from stakeholders.models import Role
from tests.factories import IndicatorFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def academic(db):
    return MembershipFactory(role=Role.ACADEMIC, user__display_name="Prof Ada").user


def test_academics_publish_evidence_and_others_get_403(client_for, academic, provider, key_steps):
    form = {
        "title": "Crisis cafés evaluated",
        "summary": "They *work*.",
        "type": "evaluation",
        "key_steps": [key_steps[3].pk],
    }
    assert client_for(provider).post("/evidence/new/", form).status_code == 403
    assert client_for(None).get("/evidence/new/").status_code == 302
    response = client_for(academic).post("/evidence/new/", form)
    item = EvidenceItem.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/evidence/{item.slug}/"
    assert list(item.key_steps.values_list("number", flat=True)) == [4]
    assert client_for(provider).get(f"/evidence/{item.slug}/edit/").status_code == 403
    assert client_for(academic).get(f"/evidence/{item.slug}/edit/").status_code == 200


def test_the_library_searches_by_meaning_of_words_and_shows_citing_actions(
    client_for, academic, public_plan, partners_plan, make_action
):
    item = services.evidence_create(
        actor=academic, title="Evaluation of crisis cafés", summary="Fewer emergency visits.", type="evaluation"
    )
    services.evidence_create(actor=academic, title="Housing first", summary="Tenancies kept.", type="case_study")
    make_action(public_plan, title="Open cafés", evidence=[item])
    make_action(partners_plan, title="Secret café", evidence=[item])
    page = client_for(None).get("/evidence/", {"q": "evaluating cafés"}).content.decode()
    assert "Evaluation of crisis cafés" in page and "Housing first" not in page  # stemmed search
    detail = client_for(None).get(f"/evidence/{item.slug}/").content.decode()
    assert "Open cafés" in detail
    assert "Secret café" not in detail  # cited in a plan this visitor may not see


def test_a_key_step_page_says_what_it_asks_and_lists_the_visible_actions_with_their_priority_areas(
    client_for, public_plan, partners_plan, make_action
):
    crisis = PriorityArea.objects.get(slug="crisis-care")
    make_action(public_plan, step=6, title="Pan-London section 136 pathway", priority_areas=[crisis])
    make_action(partners_plan, step=6, title="Hidden bed plan")
    make_action(public_plan, step=4, title="Alliance contract for crisis care", priority_areas=[crisis])
    page = client_for(None).get("/key-steps/6/").content.decode()
    assert "Pan-London solutions" in page
    assert "What it asks of London" in page
    assert KeyStep.objects.get(number=6).description.split(",")[0] in page
    assert "Pan-London section 136 pathway" in page and "Crisis care" in page
    assert "Hidden bed plan" not in page  # in a plan this visitor may not see
    assert "Alliance contract for crisis care" not in page  # under another step
    listing = client_for(None).get("/key-steps/").content.decode()
    assert listing.index("Developing collaborative commissioning") < listing.index("A new narrative for mental health")
    assert "1 action in plans you can see" in listing


def test_a_target_is_set_on_the_action_page_and_refused_when_stale(client_for, public_plan, make_action, commissioner):
    indicator = IndicatorFactory(
        code="t-ind", name="Target indicator", definition="x", measure="proportion", period_type="month"
    )
    action = make_action(public_plan, indicators={indicator: None})
    url = f"/plans/{public_plan.slug}/actions/{action.pk}/indicators/{indicator.pk}/target/"
    client = client_for(commissioner)
    assert client.post(url, {"version": 1, "target": "75.5", "target_note": "by 2028"}).status_code == 302
    link = action.indicator_links.get()
    assert (link.target, link.target_note) == (Decimal("75.5"), "by 2028")
    client.post(url, {"version": 1, "target": "90"})  # stale: the first save moved the action to version 2
    link.refresh_from_db()
    assert link.target == Decimal("75.5")
