"""One shared world for the permission matrix: the demo data plus the objects every URL needs.

The owning side is north central London: the NCL ICB commissioner (Priya) manages the plans,
contracts and partnership below; Northbank (provider) is the owning provider. Strangers are
the Southriver provider (provider2) and the SEL ICB commissioner, who hold no grant here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from actionplan import services as plan_services
from actionplan.consultations import services as consultation_services
from actionplan.duplicates.models import DismissedPair, MergeRecord
from actionplan.models import Action, ChangeCheck, EvidenceItem, KeyStep, PlanStatus, PlanVisibility
from actionplan.voice import services as voice_services
from commissioning.demo import NCL_PARTNERSHIP
from commissioning.models import Contract, Partnership, PaymentStatement, ReportingSchedule, Story, ValueQuery
from outcomes import services as outcome_services
from outcomes.models import Indicator, OutcomeValue, Population
from stakeholders import services as stakeholder_services
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import Area, Membership, Organisation, Role, User
from tests.factories import UserFactory

ROLES = [
    "anonymous",
    "service_user",
    "provider_other",
    "provider_own",
    "commissioner_nogrant",
    "commissioner_grant",
    "moderator",
    "staff",
]


@dataclass
class World:
    users: dict[str, User | None] = field(default_factory=dict)
    kwargs: dict[str, dict] = field(default_factory=dict)
    objects: dict[str, object] = field(default_factory=dict)


def _demo(local: str) -> User:
    return User.objects.get(email=f"{local}@{DEMO_EMAIL_DOMAIN}")


def _consultations(priya: User, plan, action, service_user: User) -> dict[str, object]:
    """Issue 23: a draft and an open consultation on the public matrix plan (Priya manages it), a
    written answer waiting for a moderator, and a "did it make a difference" question for the
    service user (made directly: the world's action is not done)."""
    today = timezone.localdate()
    made = {}
    for state in ("draft", "open"):
        c = consultation_services.consultation_create(
            actor=priya,
            plan=plan,
            title=f"Matrix {state} consultation",
            introduction="x",
            opens_on=today,
            closes_on=today + dt.timedelta(days=30),
        )
        question = consultation_services.question_add(
            actor=priya, consultation=c, kind="text", text="Anything else?", required=False
        )
        if state == "open":
            consultation_services.consultation_open(actor=priya, consultation=c, expected_version=c.version)
            consultation_services.answers_submit(
                actor=service_user, consultation=c, answers={question.pk: "A quiet room."}
            )
            made["consultation_answer"] = question.answers.get()
        made[f"consultation_{state}"] = c
        made[f"consultation_{state}_question"] = question
    made["change_check"] = ChangeCheck.objects.create(action=action, user=service_user)
    return made


def build() -> World:
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", quiet=True)
    priya, provider, provider2 = _demo("commissioner"), _demo("provider"), _demo("provider2")
    ncl = Organisation.objects.get(name="NHS North Central London Integrated Care Board")
    northbank = Organisation.objects.get(name="Northbank Mental Health NHS Foundation Trust")
    staff = UserFactory(display_name="Stef Staff (matrix)", is_staff=True)
    world = World(
        users={
            "anonymous": None,
            "service_user": _demo("serviceuser"),
            "provider_other": provider2,
            "provider_own": provider,
            "commissioner_nogrant": _demo("sel.commissioner"),
            "commissioner_grant": priya,
            "moderator": _demo("moderator"),
            "staff": staff,
        }
    )
    step = KeyStep.objects.order_by("number").first()
    plans = {}
    for name, visibility in (("public", PlanVisibility.PUBLIC), ("partners", PlanVisibility.PARTNERS)):
        plan = plan_services.plan_create(
            actor=priya,
            title=f"Matrix {name} plan",
            lead_organisation=ncl,
            partners=[northbank],
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2029, 3, 31),
            visibility=visibility,
            status=PlanStatus.ACTIVE,
        )
        action = plan_services.action_create(
            actor=priya, plan=plan, key_step=step, title=f"Matrix {name} action", owner_organisation=northbank
        )
        milestone = plan_services.milestone_create(actor=priya, action=action, title="First step")
        comment = voice_services.comment_create(
            actor=world.users["service_user"] if name == "public" else provider, plan=plan, body="A fair point."
        )
        plans[name] = (plan, action, milestone, comment)
    indicator = Indicator.objects.order_by("code").first()
    world.objects.update(plans=plans, indicator=indicator)
    private = Contract.objects.get(reference="NCL-MH-003")
    public = Contract.objects.get(reference="NCL-MH-001")
    partnership = Partnership.objects.get(name=NCL_PARTNERSHIP)
    meeting = partnership.meetings.order_by("pk").first()
    submission = outcome_services.submission_create(
        actor=provider, organisation=northbank, door="form", rows=[], run_inline=True
    )
    invitation = stakeholder_services.invitation_create(
        actor=provider, organisation=northbank, email="new.person@example.org", role=Role.COMMISSIONER
    )
    token, _ = stakeholder_services.api_token_create(actor=provider, name="matrix", days=30)
    notification = voice_services.notify(
        recipient=provider, kind="reply", text="Someone replied.", url="/", plan=plans["public"][0]
    )
    evidence = EvidenceItem.objects.order_by("pk").first()
    area = Area.objects.get(short_code="CMD", level="borough")
    world.objects.update(
        private_contract=private,
        public_contract=public,
        partnership=partnership,
        meeting=meeting,
        submission=submission,
        invitation=invitation,
        token=token,
        notification=notification,
        evidence=evidence,
        area=area,
        ncl=ncl,
        northbank=northbank,
        # The demo's NCL schedule for Northbank (commissioning/schedules/demo.py).
        schedule=ReportingSchedule.objects.get(provider=northbank),
        # A demo query from the NCL commissioner on a Northbank value (outcomes/demo.py).
        value_query=ValueQuery.objects.filter(provider=northbank, opened_by=priya).order_by("pk").first(),
        # Payment statements: the demo's open statement of NCL-MH-003 (commissioning/statements/demo.py).
        statement=PaymentStatement.objects.get(contract=private, status="open"),
        # Quarterly stories: the demo's Camden draft (commissioning/narrative/demo.py), which the NCL
        # commissioner edits and nobody else outside staff may see.
        story=Story.objects.get(area__short_code="CMD", status="draft"),
    )
    plan, action, milestone, comment = plans["public"]
    response = voice_services.response_save(actor=priya, comment=comment, disposition="under_review", text="Thank you.")
    follow = voice_services.follow_create(actor=provider, plan=plan)
    membership = Membership.objects.get(user=provider, organisation=northbank, role=Role.DATA_SUBMITTER)
    measure = private.measures.order_by("pk").first()
    decision = meeting.decisions.order_by("pk").first()
    # Issue 23: a commitment of the lead NCL ICB on the public matrix plan.
    from actionplan.commitments import services as commitment_services

    commitment = commitment_services.commitment_save(
        actor=priya, plan=plan, organisation=ncl, key_step=step, contribution="Matrix commitment."
    )
    value = OutcomeValue.objects.filter(organisation=northbank).order_by("pk").first()
    # Duplicated work (actionplan/duplicates/demo.py): the demo's undecided crisis-café pair (NCL and
    # Islington plans, both public, both managed by Priya), its dismissed pair and its merge.
    cafes = sorted(
        Action.objects.filter(
            title__in=["Crisis café in every NCL borough", "Crisis café in every Islington neighbourhood"]
        ),
        key=lambda a: a.pk,
    )
    world.objects.update(
        duplicate_pair=cafes,
        dismissal=DismissedPair.objects.order_by("pk").first(),
        merge=MergeRecord.objects.order_by("pk").first(),
    )
    consultations = _consultations(priya, plan, action, world.users["service_user"])
    world.objects.update(
        **consultations,
        membership=membership,
        measure=measure,
        response=response,
        follow=follow,
        decision=decision,
        # Payment statements: a line of the open demo statement, for its stance and message routes.
        api_kwargs={"line_id": world.objects["statement"].lines.order_by("pk").first().pk},
        api_pk={
            "submission": submission.pk,
            "indicator": indicator.code,
            "key-step": 1,
            "priority-area": "crisis-care",
            "plan": plan.slug,
            "evidence": evidence.slug,
            "partnership": partnership.slug,
            "contract": private.pk,
            "area": area.code,
            "borough": area.code,
            "organisation": northbank.slug,
            "membership": membership.pk,
            "population": Population.objects.order_by("pk").first().pk,
            "outcome-value": value.pk if value else 0,
            "action": action.pk,
            "milestone": milestone.pk,
            "commitment": commitment.pk,
            "partnership-meeting": meeting.pk,
            "partnership-decision": decision.pk,
            "contract-measure": measure.pk,
            "comment": comment.pk,
            "response": response.pk,
            "flag": 0,
            "notification": notification.pk,
            "follow": follow.pk,
            "reporting-schedule": world.objects["schedule"].pk,
            "value-query": world.objects["value_query"].pk,
            "payment-statement": world.objects["statement"].pk,
            "duplicate-merge": world.objects["merge"].pk,
            "consultation": consultations["consultation_open"].pk,
            "change-check": consultations["change_check"].pk,
            "story": world.objects["story"].pk,
        },
    )
    return world
