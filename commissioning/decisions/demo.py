"""Demo meetings, proposals, members' stances and outcomes in the demo partnerships (issue 22).

Called by seed_demo after the commissioning demo; idempotent (a partnership that already has
decisions is left alone). Every name, text and view is invented. Dates are relative to today,
so there is always an open proposal with a deadline next month.

In the north central London partnership (Priya for the NCL ICB, Tom for Camden Council): a
board meeting with agenda, attendees and minutes; a decision agreed with Camden disagreeing
(its reason shown); an open proposal with options, a deadline next month and one stance; one
done and one rescinded. The other demo partnerships get a board meeting with one agreed decision.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from commissioning.decisions import services
from commissioning.decisions.models import Decision, DecisionStatus, StanceChoice
from commissioning.demo import NCL_PARTNERSHIP, PAN_LONDON, SEL_PARTNERSHIP
from commissioning.models import Partnership, add_months
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import User

AGENDA = """1. Welcome and apologies
2. Minutes of the last meeting
3. Crisis care outcome measures for next year (paper A)
4. Shared waiting-list report for talking therapies (paper B)
5. Any other business
"""

MINUTES = """## Crisis care outcome measures

The board agreed the three measures in paper A. **Camden Council disagreed**: it wants the
measure on repeat crisis contacts weighted more heavily, and asked for its view to be minuted.

## Talking therapies waiting list

Members will review a shared report at the next meeting (proposal open until next month).

## Actions

- NCL ICB to publish the agreed measures with the contract summaries.
"""


def _demo(local: str) -> User | None:
    return User.objects.filter(email=f"{local}@{DEMO_EMAIL_DOMAIN}").first()


def _close(decision: Decision, *, actor: User | None, status: str, **values) -> Decision:
    decision.refresh_from_db()
    return services.decision_record_outcome(
        actor=actor, decision=decision, expected_version=decision.version, status=status, **values
    )


def _days_before(day: dt.date, days: int) -> dt.datetime:
    """10:00 on the day `days` before `day`: when a demo proposal was first put to the members."""
    moment = dt.datetime.combine(day - dt.timedelta(days=days), dt.time(10))
    return timezone.make_aware(moment)


def seed(today: dt.date | None = None) -> int:
    """Create the demo meetings and decisions. Returns how many decisions it made."""
    today = today or timezone.localdate()
    partnerships = {
        p.name: p for p in Partnership.objects.filter(name__in=[PAN_LONDON, NCL_PARTNERSHIP, SEL_PARTNERSHIP])
    }
    made = 0
    for name, partnership in sorted(partnerships.items()):
        if partnership.decisions.exists():
            continue
        lead = partnership.members.get(role="lead").organisation
        if name == NCL_PARTNERSHIP:
            made += _seed_ncl(partnership, today)
            continue
        meeting = services.meeting_create(
            actor=None, partnership=partnership, date=add_months(today, -1), title="Partnership board"
        )
        decision = services.decision_propose(
            actor=None,
            partnership=partnership,
            meeting=meeting,
            title=f"Agree the {name.removesuffix(' (demo)')} outcome measures",
            proposed_at=_days_before(meeting.date, 7),
            text=f"Agree the {name} outcome measures for the coming year and publish contract summaries.",
        )
        _close(decision, actor=None, status=DecisionStatus.AGREED, owner=lead, outcome="Agreed by consensus.")
        made += 1
    return made


def _seed_ncl(partnership: Partnership, today: dt.date) -> int:
    priya, tom = _demo("commissioner"), _demo("la.commissioner")
    if priya is None or tom is None:
        return 0
    members = {m.organisation.name: m.organisation for m in partnership.members.select_related("organisation")}
    ncl = next(o for n, o in members.items() if "Integrated Care Board" in n)
    camden = members["Camden Council"]
    meeting = services.meeting_create(
        actor=priya,
        partnership=partnership,
        date=add_months(today, -1),
        title="Partnership board",
        agenda=AGENDA,
        attendees=[priya, tom],
        also_attending="Sam Rivers, service user representative (demo)\nDr Ana Costa, Northbank clinical lead (demo)",
        minutes=MINUTES,
    )
    # Agreed, with Camden's dissent on the record.
    measures = services.decision_propose(
        actor=priya,
        partnership=partnership,
        meeting=meeting,
        title="Adopt the crisis care outcome measures for next year",
        proposed_at=_days_before(meeting.date, 10),
        text="Adopt the three crisis care measures in paper A (time to first contact, repeat crisis "
        "contacts within 30 days, people reporting they felt listened to) in every NCL crisis contract.",
    )
    services.stance_record(actor=priya, decision=measures, organisation=ncl, stance=StanceChoice.AGREE)
    services.stance_record(
        actor=tom,
        decision=measures,
        organisation=camden,
        stance=StanceChoice.DISAGREE,
        reason="Repeat crisis contacts matter most to Camden residents and should carry twice the weight "
        "of the other two measures. We will not stand in the way of the decision.",
    )
    plan_actions = [a for p in partnership.plans.all() for a in p.actions.all()[:1]]
    _close(
        measures,
        actor=priya,
        status=DecisionStatus.AGREED,
        outcome="Agreed, with Camden Council's disagreement recorded. The weighting will be reviewed in a year.",
        owner=ncl,
        due_date=add_months(today, 3),
        actions=plan_actions[:1],
    )
    # Open: views until next month, one member has answered.
    waiting = services.decision_propose(
        actor=priya,
        partnership=partnership,
        meeting=meeting,
        title="Share one waiting-list report for talking therapies",
        proposed_at=_days_before(meeting.date, 3),
        text="Publish one monthly waiting-list report for talking therapies across Camden and Islington, "
        "instead of one per borough.",
        options=["Monthly, from next quarter", "Quarterly, from next year"],
        deadline=add_months(today, 1),
    )
    services.stance_record(
        actor=priya,
        decision=waiting,
        organisation=ncl,
        stance=StanceChoice.AGREE,
        preferred_option="Monthly, from next quarter",
    )
    # Done.
    done = services.decision_propose(
        actor=priya,
        partnership=partnership,
        title="Publish the partnership's terms of reference",
        proposed_at=_days_before(add_months(today, -4), 0),
        text="Publish the terms of reference on the partnership's page.",
    )
    services.stance_record(actor=priya, decision=done, organisation=ncl, stance=StanceChoice.AGREE)
    services.stance_record(actor=tom, decision=done, organisation=camden, stance=StanceChoice.AGREE)
    _close(done, actor=priya, status=DecisionStatus.AGREED, owner=ncl, due_date=add_months(today, -2))
    _close(
        done, actor=priya, status=DecisionStatus.DONE, owner=ncl, due_date=add_months(today, -2), outcome="Published."
    )
    # Rescinded.
    rescinded = services.decision_propose(
        actor=priya,
        partnership=partnership,
        title="Move the crisis line to a single provider",
        proposed_at=_days_before(add_months(today, -3), 0),
        text="Commission the NCL crisis line from one provider from April.",
    )
    services.stance_record(actor=tom, decision=rescinded, organisation=camden, stance=StanceChoice.AGREE)
    _close(rescinded, actor=priya, status=DecisionStatus.AGREED, owner=camden)
    _close(
        rescinded,
        actor=priya,
        status=DecisionStatus.RESCINDED,
        owner=camden,
        outcome="Rescinded: the London-wide crisis line review comes first.",
    )
    return 4
