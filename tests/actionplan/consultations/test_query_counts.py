"""Exact query counts for a consultation's results page, its list and the voice impact page, at two sizes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from actionplan.consultations import services
from actionplan.models import AnswerHold

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[6, 30], ids=["6-people", "30-people"])
def answered(request, public_plan, make_consultation, answer, make_action):
    """A consultation answered by `n` people (every question, text published), and `n` actions."""
    n = request.param
    c = make_consultation(public_plan)
    for i in range(n):
        answer(
            c, where=i % 3, helps=[i % 3, 2], ease=1 + i % 5, text=f"Answer {i}", group=["carer", "staff", ""][i % 3]
        )
    c.qs[3].answers.update(status="visible", hold_reason=AnswerHold.NONE)
    for i in range(n):
        make_action(public_plan, title=f"Action {i}")
    return c


def test_the_results_page_takes_the_same_queries_at_any_size(client_for, answered, django_assert_num_queries):
    client = client_for(None)
    url = reverse("consultation_detail", args=[answered.plan.slug, answered.pk])
    # An anonymous visitor: plan, consultation, questions, groups, answered, waiting, scale
    # points, options (one unnest), published texts.
    with django_assert_num_queries(9):
        response = client.get(url)
    assert response.status_code == 200


def test_the_list_takes_the_same_queries_at_any_size(client_for, answered, django_assert_num_queries, commissioner):
    for i in range(3):
        services.consultation_create(
            actor=commissioner,
            plan=answered.plan,
            title=f"Draft {i}",
            introduction="x",
            opens_on=answered.opens_on,
            closes_on=answered.closes_on,
        )
    url = reverse("consultation_list", args=[answered.plan.slug])
    # plan, its consultations with their counts.
    with django_assert_num_queries(2):
        assert client_for(None).get(url).status_code == 200


def test_the_voice_impact_page_takes_the_same_queries_at_any_size(client_for, answered, django_assert_num_queries):
    url = reverse("plan_voice_impact", args=[answered.plan.slug])
    # plan, the asks' counts, done actions, ratings, tallies.
    with django_assert_num_queries(5):
        assert client_for(None).get(url).status_code == 200


def test_the_api_detail_takes_the_same_queries_at_any_size(answered, django_assert_num_queries):
    from rest_framework.test import APIClient

    url = reverse("consultation-detail", args=[answered.pk])
    # consultation (with its plan), its participations count, questions, then the six of the results.
    with django_assert_num_queries(9):
        assert APIClient().get(url).status_code == 200
