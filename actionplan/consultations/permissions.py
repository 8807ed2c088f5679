"""Every "may this user ...?" about consultations, their answers and closing the loop.

Built on ``actionplan.permissions`` and ``actionplan.voice.permissions``:

- Reading a consultation and its public results: anyone who may see the plan, once a manager
  has opened it. A draft is seen by the plan's managers only (404 to everyone else).
- Writing and opening: the plan's managers (``manage_plan``), while the plan is not closed;
  a consultation is edited only while it is a draft.
- Answering: anyone signed in, with a confirmed email address, who may see the plan, while
  the consultation is open (from its opening day to the end of its closing day). Service
  users, carers and staff alike; each says, if they wish, which of those they answer as.
- Exporting every answer (CSV): the plan's managers.
- Moderating free-text answers: moderators who may see the plan (as for comments).
- A "did it make a difference" question: only the person asked (404 to anyone else).
"""

from __future__ import annotations

from django.http import Http404

from actionplan import permissions as plan_permissions
from actionplan.models import (
    ChangeCheck,
    Consultation,
    ConsultationAnswer,
    ConsultationState,
    Plan,
    PlanStatus,
    Question,
)
from actionplan.voice import permissions as voice_permissions
from stakeholders.permissions import AnyUser, require

__all__ = [
    "can_answer",
    "can_edit_consultation",
    "can_export",
    "can_manage_consultations",
    "can_moderate_answer",
    "can_see_voice_impact_comments",
    "can_view_consultation",
    "get_answer_for_moderator_or_404",
    "get_change_check_or_404",
    "get_consultation_or_404",
    "get_question_or_404",
    "require",
]


def can_manage_consultations(user: AnyUser, plan: Plan) -> bool:
    """Write consultations on the plan and open them: its managers, while it is not closed."""
    return plan.status != PlanStatus.CLOSED and plan_permissions.can_manage_plan(user, plan)


def can_view_consultation(user: AnyUser, consultation: Consultation) -> bool:
    plan = consultation.plan
    if not plan_permissions.can_view_plan(user, plan):
        return False
    return consultation.published_at is not None or plan_permissions.can_manage_plan(user, plan)


def can_edit_consultation(user: AnyUser, consultation: Consultation) -> bool:
    """Change its details and questions, or open it: managers, while it is still a draft."""
    return consultation.published_at is None and can_manage_consultations(user, consultation.plan)


def can_answer(user: AnyUser, consultation: Consultation) -> bool:
    """Give (or change) one's answers: signed in, confirmed, may see the plan, while it is open."""
    if not user.is_authenticated or not user.is_active or voice_permissions.is_unverified(user):
        return False
    return consultation.state() == ConsultationState.OPEN and plan_permissions.can_view_plan(user, consultation.plan)


def can_export(user: AnyUser, consultation: Consultation) -> bool:
    """Every answer, one row each, free text included whatever its moderation: the plan's managers."""
    return plan_permissions.can_manage_plan(user, consultation.plan)


def can_moderate_answer(user: AnyUser, answer: ConsultationAnswer) -> bool:
    return voice_permissions.can_moderate(user) and plan_permissions.can_view_plan(
        user, answer.question.consultation.plan
    )


def can_see_voice_impact_comments(user: AnyUser, plan: Plan) -> bool:
    """The comments people left with their rating are for the plan's answerers, not the public."""
    return plan_permissions.can_respond_to_comments(user, plan) or plan_permissions.can_manage_plan(user, plan)


def get_consultation_or_404(user: AnyUser, plan: Plan, pk: int | str) -> Consultation:
    """A consultation of a plan the caller fetched with get_plan_for_user_or_404: 404 when not visible."""
    try:
        consultation = Consultation.objects.select_related("action").get(pk=pk, plan=plan)
    except (Consultation.DoesNotExist, ValueError):
        raise Http404 from None
    consultation.plan = plan
    if not can_view_consultation(user, consultation):
        raise Http404
    return consultation


def get_question_or_404(consultation: Consultation, pk: int | str) -> Question:
    try:
        question = Question.objects.get(pk=pk, consultation=consultation)
    except (Question.DoesNotExist, ValueError):
        raise Http404 from None
    question.consultation = consultation
    return question


def get_answer_for_moderator_or_404(user: AnyUser, pk: int | str) -> ConsultationAnswer:
    """A free-text answer a moderator may act on; 404 to anyone else (its existence included)."""
    try:
        answer = ConsultationAnswer.objects.select_related("question__consultation__plan", "participation").get(
            pk=pk, question__kind="text"
        )
    except (ConsultationAnswer.DoesNotExist, ValueError):
        raise Http404 from None
    if not can_moderate_answer(user, answer):
        raise Http404
    return answer


def get_change_check_or_404(user: AnyUser, plan: Plan, pk: int | str) -> ChangeCheck:
    """Only the person asked ever sees a "did it make a difference" question."""
    if not user.is_authenticated:
        raise Http404
    try:
        check = ChangeCheck.objects.select_related("action", "response").get(pk=pk, action__plan=plan, user=user)
    except (ChangeCheck.DoesNotExist, ValueError):
        raise Http404 from None
    check.action.plan = plan
    return check
