"""A small world for the quarterly stories' tests: Camden's figures, a public and a private plan, a
partnership decision and a "you said, we did" response, all in the current quarter. Tests draft
that quarter by travelling to the next one (`after_the_quarter`), since a story tells a quarter
that has ended."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import time_machine
from django.utils import timezone

from actionplan import services as plan_services
from actionplan.models import KeyStep, Plan, PlanScope, PlanStatus, PlanVisibility
from actionplan.voice import services as voice_services
from commissioning import services as commissioning_services
from commissioning.decisions import services as decisions
from commissioning.models import PartnershipScope
from outcomes.models import Measure, Metric, PeriodType, Polarity
from outcomes.periods import add_months, period_start_of
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory

SECRET_NAME = "Secret small-number indicator (test)"
SECRET_VALUE = Decimal("37.125")  # shown would be "37.1%"


def this_quarter() -> dt.date:
    return period_start_of(PeriodType.QUARTER, timezone.localdate())


def after_the_quarter():
    """Travel to the fifth day of the next quarter: this quarter is then the last complete one."""
    return time_machine.travel(
        dt.datetime.combine(add_months(this_quarter(), 3) + dt.timedelta(days=4), dt.time(12), tzinfo=dt.UTC),
        tick=True,
    )


def borough(code: str) -> Area:
    return Area.objects.get(short_code=code, level=AreaLevel.BOROUGH)


def london() -> Area:
    return Area.objects.get(level=AreaLevel.LONDON)


def metric(indicator, area, *, value, trend="", num=500, den=1000, basis="approved", **fields) -> Metric:
    return Metric.objects.create(
        indicator=indicator,
        area=area,
        period_start=add_months(this_quarter(), 2),  # the quarter's last month
        basis=basis,
        numerator=num,
        denominator=den,
        value=value,
        trend=trend,
        computed_at=timezone.now(),
        **fields,
    )


def indicator(name: str, polarity: str = Polarity.HIGHER_BETTER, measure: str = Measure.PROPORTION):
    return IndicatorFactory(name=name, polarity=polarity, measure=measure, period_type=PeriodType.MONTH)


@dataclass
class StoryWorld:
    camden: Area
    plan: Plan
    private_plan: Plan
    done_title: str
    decision_title: str
    said: str
    did: str


def figures(area: Area) -> None:
    """Better, worse, steady, untested, a rise with no judgement, and two figures disclosure control hides."""
    metric(indicator("Recovery rate (test)"), area, value=Decimal("52.345"), trend="increasing")
    metric(indicator("Crisis waits (test)", Polarity.LOWER_BETTER), area, value=Decimal("61.2"), trend="increasing")
    metric(indicator("Follow-up in 72 hours (test)"), area, value=Decimal("70.04"), trend="no_change")
    metric(indicator("New measure (test)"), area, value=Decimal("44.4"), trend="")
    metric(indicator("Referrals share (test)", Polarity.NO_JUDGEMENT), area, value=Decimal("12.5"), trend="decreasing")
    # Suppressed by the aggregation (a count under 5 behind it), with a trend that would be news.
    metric(indicator(SECRET_NAME), area, value=SECRET_VALUE, num=3, den=8, trend="increasing", suppressed=True)
    # A count of 3: disclose_count hides it even without the flag.
    metric(indicator("Tiny count (test)", measure=Measure.COUNT), area, value=Decimal(3), num=3, den=None)
    # Provisional only: not an approved figure, never told.
    metric(indicator("Provisional only (test)"), area, value=Decimal("99.9"), trend="increasing", basis="provisional")


def build(*, commissioner, commissioning_org, provider_org, service_user) -> StoryWorld:
    camden = borough("CMD")
    figures(camden)
    step = KeyStep.objects.order_by("number").first()
    plans = {}
    for visibility in (PlanVisibility.PUBLIC, PlanVisibility.PARTNERS):
        plans[visibility] = plan_services.plan_create(
            actor=commissioner,
            title=f"Camden {visibility} plan (test)",
            lead_organisation=commissioning_org,
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2029, 3, 31),
            scope=PlanScope.BOROUGHS,
            areas=[camden],
            visibility=visibility,
            status=PlanStatus.ACTIVE,
        )
    plan = plans[PlanVisibility.PUBLIC]
    done = plan_services.action_create(
        actor=commissioner,
        plan=plan,
        key_step=step,
        title="Open the Camden crisis café (test)",
        owner_organisation=provider_org,
        status="done",
        progress=100,
    )
    plan_services.action_create(
        actor=commissioner, plan=plan, key_step=step, title="Still going (test)", owner_organisation=provider_org
    )
    plan_services.action_create(
        actor=commissioner,
        plan=plans[PlanVisibility.PARTNERS],
        key_step=step,
        title="Private finished work (test)",
        owner_organisation=provider_org,
        status="done",
        progress=100,
    )
    partnership = commissioning_services.partnership_create(
        actor=None,
        name="Camden partnership (test)",
        scope=PartnershipScope.BOROUGHS,
        lead=commissioning_org,
        members=[],
        boroughs=[camden, borough("ISL")],
    )
    decision = decisions.decision_propose(
        actor=commissioner, partnership=partnership, title="Pool the crisis budget (test)", text="Pool it."
    )
    decisions.decision_record_outcome(
        actor=commissioner,
        decision=decision,
        expected_version=decision.version,
        status="agreed",
        owner=commissioning_org,
    )
    decisions.decision_propose(
        actor=commissioner, partnership=partnership, title="Still only proposed (test)", text="Maybe."
    )
    said = "Please open the café at weekends."
    did = "Agreed: it opens on Saturdays and Sundays."
    comment = voice_services.comment_create(actor=service_user, plan=plan, body=said + " It would help a lot.")
    voice_services.response_save(
        actor=commissioner, comment=comment, disposition="accepted", text=did, action_changed=done
    )
    return StoryWorld(
        camden=camden,
        plan=plan,
        private_plan=plans[PlanVisibility.PARTNERS],
        done_title=done.title,
        decision_title=decision.title,
        said=said,
        did=did,
    )
