"""Demo payment statements on NCL-MH-003 (NCL ICB and Northbank). Synthetic: the figures are the demo's.

Two statements: an earlier quarter agreed and locked by Priya (NCL ICB) and Sam (Northbank),
followed by a corrected value so that the locked statement shows "Changed since it was agreed";
and a later quarter still open, with a disputed line and its thread. Called by seed_demo after
the outcomes and commissioning demos; idempotent (a contract with statements is left alone).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from commissioning.models import Contract
from commissioning.statements import services
from outcomes import services as outcome_services
from outcomes.aggregation import metrics_recompute_cells
from outcomes.models import Door, OutcomeValue, ValueStatus
from outcomes.periods import add_months
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import User

REFERENCE = "NCL-MH-003"
DISPUTE = (
    "Two of the readmissions this quarter were planned admissions for ECT, which the service "
    "specification excludes from this measure. Without them the rate is under the target."
)
REPLY = (
    "Thank you. Please send the two episode references; if they were planned we will ask the data "
    "team to exclude them and refresh the figures."
)
PROVIDER_REPLY = "Sent by secure email today (two episodes, both planned ECT admissions)."


def seed(today: dt.date | None = None) -> int:
    """Create the two demo statements. Returns how many were made."""
    contract = Contract.objects.filter(reference=REFERENCE).prefetch_related("providers", "boroughs").first()
    if contract is None or contract.statements.exists():
        return 0
    priya = User.objects.filter(email=f"commissioner@{DEMO_EMAIL_DOMAIN}").first()
    sam = User.objects.filter(email=f"provider@{DEMO_EMAIL_DOMAIN}").first()
    if priya is None or sam is None:
        return 0
    today = today or timezone.localdate()
    this_quarter = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    # The outcomes demo approves all but the latest period: the quarter before last is approved throughout.
    open_start, locked_start = add_months(this_quarter, -6), add_months(this_quarter, -9)

    locked = services.statement_draft(actor=priya, contract=contract, period_start=locked_start)
    services.statement_agree_all(actor=priya, statement=locked, expected_version=locked.version)
    services.statement_agree_all(actor=sam, statement=locked, expected_version=locked.version)
    _correct_a_value_later(contract, locked_start, sam, priya)

    statement = services.statement_draft(actor=priya, contract=contract, period_start=open_start)
    lines = list(statement.lines.order_by("position", "pk"))
    disputed = next((line for line in lines if line.indicator_code == "readmit-30d"), lines[-1])
    services.line_stance_record(
        actor=sam, line=disputed, stance="dispute", reason=DISPUTE, expected_version=statement.version
    )
    services.line_message_post(actor=priya, line=disputed, text=REPLY)
    services.line_message_post(actor=sam, line=disputed, text=PROVIDER_REPLY)
    for line in lines:
        if line.pk != disputed.pk:
            services.line_stance_record(actor=sam, line=line, stance="agree", expected_version=statement.version)
            services.line_stance_record(actor=priya, line=line, stance="agree", expected_version=statement.version)
    return 2


def _correct_a_value_later(contract: Contract, quarter: dt.date, submitter: User, reviewer: User) -> None:
    """Northbank corrects one approved early-intervention value of the locked quarter; Priya approves it."""
    value = (
        OutcomeValue.objects.filter(
            organisation__name="Northbank Mental Health NHS Foundation Trust",
            indicator__code="eip-2wk",
            period_start=quarter,
            status=ValueStatus.APPROVED,
            borough__in=contract.boroughs.all(),
        )
        .select_related("indicator", "borough", "organisation")
        .order_by("borough__name")
        .first()
    )
    if value is None or not value.denominator:
        return
    numerator = max(Decimal(0), value.numerator - max(3, value.denominator // 5))
    outcome_services.submission_create(
        actor=submitter,
        organisation=value.organisation,
        door=Door.FORM,
        rows=[
            {
                "indicator_code": value.indicator.code,
                "borough_code": value.borough.code,
                "period": value.indicator.period_label(value.period_start),
                "numerator": format(numerator.normalize(), "f"),
                "denominator": str(value.denominator),
                "note": "synthetic demo value, corrected: referrals re-dated after an audit",
            }
        ],
        filename="demo correction",
        atomic=True,
        amend_approved=True,
        run_inline=True,
    )
    outcome_services.outcome_values_review(actor=reviewer, value_ids=[value.pk], status=ValueStatus.APPROVED)
    metrics_recompute_cells([(value.indicator_id, value.period_start.isoformat())])
