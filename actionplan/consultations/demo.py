"""Demo consultations and "did it make a difference" answers (called by seed_demo after the voice demo).

On the first public demo plan with a manager: one open consultation with 31 synthetic
respondents (enough for results; one option chosen by fewer than 5 people, shown as such, and
the next smallest hidden so it cannot be worked out), one closed consultation, and the "you
said, we did" action done: the people whose accepted comments changed it are asked, and 25 of
them rate the change. Everyone here is made up and labelled "(demo)".

Idempotent: a plan that already has the open demo consultation is left alone.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from actionplan import services as plan_services
from actionplan.consultations import services
from actionplan.models import (
    ActionStatus,
    Consultation,
    Disposition,
    Plan,
    PlanStatus,
    PlanUserObjectPermission,
    PlanVisibility,
    QuestionKind,
    RespondentGroup,
    Response,
)
from actionplan.voice import services as voice_services
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import LivedExperience, User

OPEN_TITLE = "Help in a mental health crisis out of hours: what would make a difference?"
CLOSED_TITLE = "Waiting for talking therapies: what helped while you waited?"
RESPONDENTS = 31

# Per respondent, in order: where they last went for help (an index of WHERE), how easy it was (1-5).
# A&E 13, NHS 111 option 2 9, crisis café 6, GP 3: the GP count is "fewer than 5" and the café's
# is "not shown" (with the total, it would give the GP count away).
WHERE = ["A&E", "NHS 111, option 2", "A crisis café", "My GP"]
WHERE_COUNTS = [13, 9, 6, 3]
EASE_COUNTS = [6, 8, 7, 5, 5]  # every point at least 5: all shown, with the average
HELPS = ["Evening opening", "Weekend opening", "Peer support workers", "One phone number", "A text service"]
HELP_COUNTS = [20, 18, 12, 15, 3]  # people pick several; "A text service" is "fewer than 5"
GROUPS = [RespondentGroup.SERVICE_USER] * 12 + [RespondentGroup.CARER] * 10 + [RespondentGroup.STAFF] * 6
TEXTS = [
    ("A quiet room that is not A&E, with someone who has been there too.", True),
    ("Somebody to ring back the next morning. Nobody did after my last crisis.", True),
    ("Please let carers come in with the person. I was sent home to wait.", True),
    ("More beds closer to home.", False),  # waiting for a moderator
]
# Ratings of the done action by 25 of the 26 people asked: 1 x1, 2 x2, 3 x6, 4 x9, 5 x7.
RATINGS = [1] + [2] * 2 + [3] * 6 + [4] * 9 + [5] * 7


def _respondents() -> list[User]:
    people = []
    for n in range(1, RESPONDENTS + 1):
        email = f"respondent{n}@{DEMO_EMAIL_DOMAIN}"
        user = User.objects.filter(email=email).first()
        if user is None:
            lived = [LivedExperience.SERVICE_USER, LivedExperience.CARER][n % 2]
            user = User.objects.create_user(
                email=email,
                password=settings.DEMO_PASSWORD,
                display_name=f"Respondent {n} (demo)",
                lived_experience=lived,
            )
        people.append(user)
    return people


def _spread(counts: list[int]) -> list[int]:
    return [i for i, n in enumerate(counts) for _ in range(n)]


def seed() -> int:
    """Returns how many consultations it made (0 when already there)."""
    # The plan where the voice demo accepted a comment as changing an action (the NCL plan's crisis
    # café), so the loop closes on it; else the first public plan with a manager.
    accepted = (
        Response.objects.filter(
            disposition=Disposition.ACCEPTED,
            action_changed__isnull=False,
            comment__plan__visibility=PlanVisibility.PUBLIC,
        )
        .order_by("pk")
        .first()
    )
    grants = PlanUserObjectPermission.objects.filter(
        permission__codename="manage_plan",
        content_object__visibility=PlanVisibility.PUBLIC,
        content_object__status__in=[PlanStatus.CONSULTATION, PlanStatus.ACTIVE],
    )
    if accepted is not None:
        grants = grants.filter(content_object_id=accepted.comment.plan_id)
    grant = grants.select_related("user", "content_object").order_by("content_object_id").first()
    if grant is None:
        return 0
    plan: Plan = grant.content_object
    manager = grant.user
    if Consultation.objects.filter(plan=plan, title=OPEN_TITLE).exists():
        return 0
    people = _respondents()
    today = timezone.localdate()
    made = 0

    # The open consultation.
    open_one = services.consultation_create(
        actor=manager,
        plan=plan,
        title=OPEN_TITLE,
        introduction=(
            "We are planning crisis support for evenings and weekends across the plan's boroughs. "
            "Tell us where you went for help, how it was, and what would have made a difference.\n\n"
            "We will publish what we heard here, and what we changed because of it. *Synthetic demo data.*"
        ),
        opens_on=today - dt.timedelta(days=10),
        closes_on=today + dt.timedelta(days=30),
    )
    where = services.question_add(
        actor=manager,
        consultation=open_one,
        kind=QuestionKind.SINGLE,
        text="Where did you last go for help in a mental health crisis?",
        options=WHERE,
    )
    ease = services.question_add(
        actor=manager,
        consultation=open_one,
        kind=QuestionKind.SCALE,
        text="How easy was it to get help there?",
        scale_low="Very hard",
        scale_high="Very easy",
    )
    helps = services.question_add(
        actor=manager,
        consultation=open_one,
        kind=QuestionKind.MULTIPLE,
        text="What would help most?",
        options=HELPS,
        required=False,
    )
    text = services.question_add(
        actor=manager,
        consultation=open_one,
        kind=QuestionKind.TEXT,
        text="Anything else we should know?",
        required=False,
    )
    services.consultation_open(actor=manager, consultation=open_one, expected_version=open_one.version)
    where_answers, ease_answers = _spread(WHERE_COUNTS), _spread(EASE_COUNTS)
    help_sets: list[list[int]] = [[] for _ in people]
    for option, count in enumerate(HELP_COUNTS):
        for k in range(count):
            help_sets[(k * 7 + option * 3) % len(people)].append(option)
    for i, person in enumerate(people):
        answers = {where.pk: [where_answers[i]], ease.pk: ease_answers[i] + 1, helps.pk: help_sets[i]}
        if i < len(TEXTS):
            answers[text.pk] = TEXTS[i][0]
        services.answers_submit(
            actor=person, consultation=open_one, answers=answers, group=GROUPS[i] if i < len(GROUPS) else ""
        )
    moderator = User.objects.filter(email=f"moderator@{DEMO_EMAIL_DOMAIN}").first() or manager
    for answer, (_, publish) in zip(text.answers.order_by("pk"), TEXTS, strict=True):
        if publish:
            services.answer_moderate(actor=moderator, answer=answer, publish=True, reason="Fine to publish.")
    made += 1

    # A closed consultation (answered while it was open; its dates then moved into the past).
    closed = services.consultation_create(
        actor=manager,
        plan=plan,
        title=CLOSED_TITLE,
        introduction="What helped you while you waited for talking therapies? *Synthetic demo data.*",
        opens_on=today - dt.timedelta(days=90),
        closes_on=today,
    )
    waited = services.question_add(
        actor=manager,
        consultation=closed,
        kind=QuestionKind.SINGLE,
        text="Were you offered any support while you waited?",
        options=["Yes, and it helped", "Yes, but it did not help", "No"],
    )
    services.consultation_open(actor=manager, consultation=closed, expected_version=closed.version)
    for i, person in enumerate(people[:14]):
        services.answers_submit(
            actor=person, consultation=closed, answers={waited.pk: [0 if i < 3 else (1 if i < 8 else 2)]}
        )
    Consultation.objects.filter(pk=closed.pk).update(
        opens_on=today - dt.timedelta(days=90), closes_on=today - dt.timedelta(days=30)
    )
    made += 1

    # Closing the loop: the voice demo's accepted "you said, we did" action (else the plan's first
    # action not done yet) is changed by the respondents' comments, then becomes done.
    action = (
        accepted.action_changed
        if accepted is not None
        else plan.actions.exclude(status=ActionStatus.DONE).order_by("pk").first()
    )
    if action is None:
        return made
    for person in people[: len(RATINGS) + 1]:
        comment = voice_services.comment_create(
            actor=person,
            plan=plan,
            action=action,
            body=f"Please make “{action.title}” happen: it would have helped me. (Synthetic demo comment.)",
        )
        voice_services.response_save(
            actor=manager,
            comment=comment,
            disposition=Disposition.ACCEPTED,
            text=f"Agreed: we changed “{action.title}” because of comments like yours.",
            action_changed=action,
        )
    action.refresh_from_db()
    if action.status != ActionStatus.DONE:
        plan_services.action_update(
            actor=manager, action=action, expected_version=action.version, values={"status": ActionStatus.DONE}
        )
    else:
        services.change_checks_request(action=action, actor=manager)
    for check, rating in zip(action.change_checks.select_related("user").order_by("pk"), RATINGS, strict=False):
        services.change_check_answer(actor=check.user, check=check, rating=rating, comment="")
    return made
