"""Consultations for the tests: written and opened through the services, as a manager would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from actionplan.consultations import services
from actionplan.models import QuestionKind
from tests.factories import UserFactory


@pytest.fixture
def make_consultation(commissioner):
    """make_consultation(plan, open=True, questions=None) -> a consultation with the standard four questions
    (single, multiple, scale, text), opened unless open=False. Its questions are `c.qs` in order."""

    def make(plan, open: bool = True, title: str = "Crisis support out of hours", action=None, actor=None):
        actor = actor or commissioner
        today = timezone.localdate()
        consultation = services.consultation_create(
            actor=actor,
            plan=plan,
            title=title,
            introduction="Tell us what would help.",
            opens_on=today,
            closes_on=today + dt.timedelta(days=30),
            action=action,
        )
        qs = [
            services.question_add(
                actor=actor,
                consultation=consultation,
                kind=QuestionKind.SINGLE,
                text="Where did you go for help?",
                options=["A&E", "NHS 111", "A crisis café"],
            ),
            services.question_add(
                actor=actor,
                consultation=consultation,
                kind=QuestionKind.MULTIPLE,
                text="What would help?",
                options=["Evenings", "Weekends", "Peer support"],
                required=False,
            ),
            services.question_add(
                actor=actor, consultation=consultation, kind=QuestionKind.SCALE, text="How easy was it?"
            ),
            services.question_add(
                actor=actor,
                consultation=consultation,
                kind=QuestionKind.TEXT,
                text="Anything else?",
                required=False,
            ),
        ]
        if open:
            services.consultation_open(actor=actor, consultation=consultation, expected_version=consultation.version)
            consultation.refresh_from_db()
        consultation.qs = qs
        return consultation

    return make


@pytest.fixture
def answer(db):
    """answer(consultation, where=0, helps=(), ease=3, text="", group="", user=None) -> the participation."""

    def give(consultation, where=0, helps=(), ease=3, text="", group="", user=None):
        single, multiple, scale, free = consultation.qs
        user = user or UserFactory()
        return services.answers_submit(
            actor=user,
            consultation=consultation,
            answers={single.pk: [where], multiple.pk: list(helps), scale.pk: ease, free.pk: text},
            group=group,
        )

    return give
