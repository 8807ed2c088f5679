"""The demo plans load through the services, twice without change, with history to show."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command

from actionplan import permissions, selectors
from actionplan.demo import CAMDEN_TITLE, NCL_TITLE, PAN_LONDON_TITLE, SEL_TITLE
from actionplan.duplicates.demo import ISLINGTON_TITLE
from actionplan.models import Action, Plan, PlanStatus
from outcomes.models import PriorityArea

pytestmark = pytest.mark.django_db


def test_the_demo_has_four_plans_across_the_scopes_and_loads_idempotently(settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", "--quiet")
    counts = (Plan.objects.count(), Action.objects.count())
    call_command("seed_demo", "--quiet")
    assert (Plan.objects.count(), Action.objects.count()) == counts

    pan_london = Plan.objects.get(title=PAN_LONDON_TITLE)
    assert pan_london.status == PlanStatus.ACTIVE
    per_step = [pan_london.actions.filter(key_step__number=n).count() for n in range(1, 10)]
    assert per_step == [5] * 9
    assert {p.scope for p in Plan.objects.all()} == {"pan_london", "sub_region", "boroughs"}
    assert Plan.objects.get(title=NCL_TITLE).status == PlanStatus.CONSULTATION
    assert Plan.objects.get(title=CAMDEN_TITLE).status == PlanStatus.DRAFT
    # Every priority area is measured by at least one demo indicator, and every action names
    # at least one priority area.
    assert all(area.indicators.exists() for area in PriorityArea.objects.all())
    assert not Action.objects.filter(priority_areas=None).exists()
    assert pan_london.actions.filter(
        key_step__slug="outcomes-data", title="Agree one London outcomes framework"
    ).exists()
    assert pan_london.actions.filter(
        key_step__slug="contracting-integration", priority_areas__slug="crisis-care"
    ).exists()

    anonymous = AnonymousUser()
    visible = set(permissions.plans_visible_to(anonymous).values_list("title", flat=True))
    # SEL's is partners-only, Camden's a draft; the Islington plan is issue 23's duplicated-work demo.
    assert visible == {PAN_LONDON_TITLE, NCL_TITLE, ISLINGTON_TITLE}
    assert SEL_TITLE not in visible

    history = selectors.plan_history(pan_london)
    assert {e.who for e in history} >= {"Priya Commissioner (demo)", "Ade SEL Commissioner (demo)"}
    assert any(e.verb == "changed" and any(c.label == "Status" for c in e.changes) for e in history)


def test_the_demo_closes_the_loops_a_user_would_look_for(settings):
    # One seeding for both: the accepted response's action, and the review queue's signed approvals,
    # reasons, query threads and notifications.
    from actionplan.models import Comment, Disposition, Response

    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", "--quiet")
    accepted = list(Response.objects.filter(disposition=Disposition.ACCEPTED).select_related("action_changed"))
    assert accepted, "the demo shows a comment that changed a plan"
    for response in accepted:
        assert response.action_changed is not None
        assert "crisis café" in response.action_changed.title.lower()
        assert response.comment.action_id == response.action_changed.pk
    # The other public plan has no café: its comment is answered "under review", changing nothing.
    cafe_comments = Comment.objects.filter(body__contains="crisis café open at **weekends**")
    assert cafe_comments.count() == 2
    assert Response.objects.filter(comment__in=cafe_comments, disposition=Disposition.UNDER_REVIEW).count() == 1
    from actionplan.models import Notification, NotificationKind
    from outcomes.models import OutcomeValue, ValueStatus

    camden = OutcomeValue.objects.filter(borough__name="Camden", status=ValueStatus.APPROVED)
    assert set(camden.values_list("reviewed_for__name", flat=True)) == {
        "NHS North Central London Integrated Care Board",
        "Camden Council",
    }
    assert not camden.filter(reviewed_by=None).exists()  # boroughs with a demo commissioner: each approval is signed
    reasons = OutcomeValue.objects.filter(status__in=[ValueStatus.QUERIED, ValueStatus.REJECTED])
    assert reasons.count() == 6 and all(v.query_message for v in reasons)
    assert Notification.objects.filter(kind=NotificationKind.DATA_REVIEW).exists()
    # Queries open threads; the provider has answered one, and its commissioner was told.
    from commissioning.models import QueryStatus, ValueQuery

    assert ValueQuery.objects.count() == 4
    answered = ValueQuery.objects.get(status=QueryStatus.ANSWERED)
    assert answered.value.borough.name == "Enfield"
    assert Notification.objects.filter(kind=NotificationKind.QUERY_ANSWER, recipient=answered.opened_by).exists()
    # Payment statements on NCL-MH-003: an earlier quarter agreed and locked, then changed since (a
    # corrected value); a later quarter open, with a disputed line and its thread.
    from commissioning.models import PaymentStatement
    from commissioning.statements import selectors as statement_selectors

    locked = PaymentStatement.objects.get(contract__reference="NCL-MH-003", status="locked")
    views = statement_selectors.line_views(statement_selectors.statement_for_page(locked.pk), exact=True)
    assert any(v.changed for v in views), "the locked demo statement shows what changed since"
    open_one = PaymentStatement.objects.get(contract__reference="NCL-MH-003", status="open")
    disputed = [line for line in open_one.lines.all() if line.stances.filter(stance="dispute").exists()]
    assert len(disputed) == 1 and disputed[0].messages.count() == 2
    assert Notification.objects.filter(
        kind=NotificationKind.STATEMENT, recipient__email__startswith="commissioner@"
    ).exists()
