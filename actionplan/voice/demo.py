"""Demo comments and official responses on the demo plans (called by seed_demo after the plans demo).

Idempotent: a plan that already has comments is left alone. Returns how many comments it made.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from actionplan.models import Comment, Disposition, Plan, PlanStatus, PlanUserObjectPermission, PlanVisibility
from actionplan.voice import services
from stakeholders.models import User

COMMENTS = [
    (
        "Please keep the crisis café open at **weekends**. That is when I needed it most, and A&E was "
        "the only place left.",
        Disposition.ACCEPTED,
        "Agreed. From next quarter the café opens on Saturdays and Sundays; we changed the action to say so.",
    ),
    (
        "As a carer I was never told who to call out of hours. A single number on every discharge letter would help.",
        Disposition.UNDER_REVIEW,
        "We are asking the three trusts whether one number can cover every borough. We will report back here.",
    ),
    (
        "Peer support workers made the difference for me. Are there any in this plan?",
        Disposition.ALREADY_COVERED,
        "Yes: under key step 3, service users and clinicians at the core, there are peer support workers "
        "in every community team.",
    ),
    ("Could the plan say how long people wait for talking therapies in each borough?", None, None),
]
NO_CAFE_ANSWER = (
    "This plan has no crisis café of its own yet. We have asked the crisis-care leads whether weekend "
    "opening can be added, and will report back here."
)


def seed() -> int:
    plans = list(
        Plan.objects.filter(
            visibility=PlanVisibility.PUBLIC, status__in=[PlanStatus.CONSULTATION, PlanStatus.ACTIVE]
        ).order_by("id")[:2]
    )
    voices = list(User.objects.exclude(lived_experience="").filter(is_active=True).order_by("id")[:4])
    if not voices:
        return 0
    made = 0
    for plan in plans:
        if Comment.objects.filter(plan=plan).exists():
            continue
        manager_grant = (
            PlanUserObjectPermission.objects.filter(content_object=plan, permission__codename="manage_plan")
            .select_related("user")
            .first()
        )
        # The accepted comment asks for weekend opening of the crisis café: it is made on, and
        # its response changes, the plan's crisis café action. A plan without one gets the
        # comment on the plan, answered "under review" (nothing was changed to point at).
        cafe = plan.actions.filter(title__icontains="crisis café").order_by("id").first()
        for i, (body, disposition, answer) in enumerate(COMMENTS):
            author = voices[i % len(voices)]
            on_action = cafe if disposition == Disposition.ACCEPTED else None
            if disposition == Disposition.ACCEPTED and cafe is None:
                disposition, answer = Disposition.UNDER_REVIEW, NO_CAFE_ANSWER
            comment = services.comment_create(actor=author, plan=plan, body=body, action=on_action, show_badge=True)
            # Spread the demo over the past weeks so the response times and "waiting" list mean something.
            Comment.objects.filter(pk=comment.pk).update(created_at=timezone.now() - dt.timedelta(days=20 - i * 3))
            comment.refresh_from_db()
            made += 1
            if disposition and manager_grant is not None:
                services.response_save(
                    actor=manager_grant.user,
                    comment=comment,
                    disposition=disposition,
                    text=answer,
                    action_changed=on_action if disposition == Disposition.ACCEPTED else None,
                )
    return made
