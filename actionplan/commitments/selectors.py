"""Reads for the commitment matrix, the activation gate and an organisation's commitments.

The matrix is read in a fixed number of queries whatever the number of partners and
commitments: the partners, the key steps, the commitments with their action links and
actions, the sign-offs (with signer and manager), the representatives. Fingerprints are
computed from what those queries loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from actionplan.commitments import permissions
from actionplan.commitments.services import fingerprint
from actionplan.models import (
    Action,
    ActionCoOwner,
    Commitment,
    CommitmentAction,
    KeyStep,
    PartnerSignOff,
    Plan,
    PlanRepresentative,
)
from actionplan.permissions import plans_visible_to
from stakeholders.models import Organisation
from stakeholders.permissions import AnyUser

# A partner's state on the matrix.
SIGNED = "signed"  # signed, and nothing changed since
STALE = "stale"  # signed, then its commitments changed: needs a new signature
UNSIGNED = "unsigned"  # never signed

STATE_LABELS = {SIGNED: "Signed", STALE: "Needs a new signature", UNSIGNED: "Not signed"}


@dataclass
class Cell:
    key_step: KeyStep
    commitment: Commitment | None


@dataclass
class PartnerRow:
    organisation: Organisation
    is_lead: bool
    cells: list[Cell] = field(default_factory=list)
    sign_off: PartnerSignOff | None = None
    state: str = UNSIGNED
    fingerprint: str = ""
    can_record: bool = False
    can_sign: bool = False

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def waiver(self) -> str:
        """The manager's recorded reason, when the partner has no current signature."""
        if self.state != SIGNED and self.sign_off is not None:
            return self.sign_off.waiver_reason
        return ""

    @property
    def n_commitments(self) -> int:
        return sum(1 for c in self.cells if c.commitment is not None)


@dataclass
class RepresentativeRow:
    representative: PlanRepresentative
    state: str  # SIGNED, STALE or UNSIGNED against the whole matrix


@dataclass
class Matrix:
    plan: Plan
    steps: list[KeyStep]
    rows: list[PartnerRow]
    representatives: list[RepresentativeRow]
    fingerprint: str

    @property
    def uncovered_steps(self) -> list[KeyStep]:
        covered = {c.key_step.pk for r in self.rows for c in r.cells if c.commitment is not None}
        return [s for s in self.steps if s.pk not in covered]

    @property
    def not_signed(self) -> list[PartnerRow]:
        return [r for r in self.rows if r.state != SIGNED]

    @property
    def blockers(self) -> list[PartnerRow]:
        """Partners that keep the plan from becoming active: no current signature, no recorded reason."""
        return [r for r in self.rows if r.state != SIGNED and not r.waiver]


def _partners(plan: Plan) -> list[Organisation]:
    """The lead organisation, then the partners by name (one query)."""
    ids = [plan.lead_organisation_id, *plan.partners.values_list("pk", flat=True)]
    orgs = {o.pk: o for o in Organisation.objects.filter(pk__in=ids)}
    lead = orgs.pop(plan.lead_organisation_id)
    return [lead, *sorted(orgs.values(), key=lambda o: o.name)]


def _state(signed_fingerprint: str, signed: bool, current: str) -> str:
    if not signed:
        return UNSIGNED
    return SIGNED if signed_fingerprint == current else STALE


def matrix(plan: Plan, user: AnyUser | None = None) -> Matrix:
    """The plan's commitment matrix, with what ``user`` may do on each row. Seven queries at most."""
    partners = _partners(plan)
    steps = list(KeyStep.objects.order_by("number"))
    commitments = list(
        Commitment.objects.filter(plan=plan)
        .select_related("recorded_by")
        .prefetch_related(
            Prefetch(
                "action_links",
                queryset=CommitmentAction.objects.select_related("action").order_by("action__title", "pk"),
            )
        )
        .order_by()
    )
    sign_offs = {
        s.organisation_id: s
        for s in PartnerSignOff.objects.filter(plan=plan).select_related("signed_by", "waived_by").order_by()
    }
    by_cell = {(c.organisation_id, c.key_step_id): c for c in commitments}
    recordable = set(permissions.recordable_organisation_ids(user, plan)) if user is not None else set()
    signable = set(permissions.signable_organisation_ids(user, plan)) if user is not None else set()
    rows = []
    for org in partners:
        mine = [c for c in commitments if c.organisation_id == org.pk]
        current = fingerprint(mine)
        sign_off = sign_offs.get(org.pk)
        row = PartnerRow(
            organisation=org,
            is_lead=org.pk == plan.lead_organisation_id,
            cells=[Cell(step, by_cell.get((org.pk, step.pk))) for step in steps],
            sign_off=sign_off,
            state=_state(sign_off.fingerprint if sign_off else "", bool(sign_off and sign_off.is_signed), current),
            fingerprint=current,
            can_record=org.pk in recordable,
            can_sign=org.pk in signable and bool(mine),
        )
        rows.append(row)
    whole = fingerprint(commitments)
    reps = [
        RepresentativeRow(r, _state(r.cosigned_fingerprint, r.cosigned_at is not None, whole))
        for r in PlanRepresentative.objects.filter(plan=plan).select_related("user").order_by("user__display_name")
    ]
    return Matrix(plan=plan, steps=steps, rows=rows, representatives=reps, fingerprint=whole)


def sign_off_rows(plan: Plan) -> list[PartnerRow]:
    return matrix(plan).rows


def activation_blockers(plan: Plan) -> list[Organisation]:
    """Partners with neither a current signature nor a manager's recorded reason (the activation gate)."""
    return [r.organisation for r in matrix(plan).blockers]


def recent_history(plan: Plan, limit: int = 20) -> list[Any]:
    """Signatures, reasons, representatives' co-signatures and commitment changes, newest first."""
    from pghistory.models import Events

    from kernel.history import history_entries

    streams = Events.objects.across(
        Commitment.pgh_event_model, PartnerSignOff.pgh_event_model, PlanRepresentative.pgh_event_model
    ).references(plan)
    return history_entries(streams.order_by("-pgh_created_at", "-pgh_id")[:limit])


def linkable_actions(plan: Plan, organisation: Organisation) -> QuerySet[Action]:
    """The plan's actions the organisation owns or co-owns (what a commitment may link)."""
    co_owned = ActionCoOwner.objects.filter(organisation=organisation).values("action_id")
    return (
        Action.objects.filter(plan=plan)
        .filter(Q(owner_organisation=organisation) | Q(pk__in=co_owned))
        .select_related("key_step")
        .order_by("key_step__number", "title", "pk")
    )


# An organisation across London -------------------------------------------------------------------


@dataclass
class OrganisationCommitments:
    organisation: Organisation
    commitments: list[Commitment]
    owned: list[Action]
    co_owned: list[ActionCoOwner]


def organisation_commitments(organisation: Organisation, user: AnyUser) -> OrganisationCommitments:
    """Everything the organisation has committed to in plans ``user`` may see. Four queries."""
    visible = plans_visible_to(user).values("pk")
    commitments = list(
        Commitment.objects.filter(organisation=organisation, plan__in=visible)
        .select_related("plan", "key_step")
        .prefetch_related(
            Prefetch("action_links", queryset=CommitmentAction.objects.select_related("action").order_by("pk"))
        )
        .order_by("plan__title", "plan_id", "key_step__number")
    )
    owned = list(
        Action.objects.filter(owner_organisation=organisation, plan__in=visible)
        .select_related("plan", "key_step")
        .order_by("plan__title", "plan_id", "key_step__number", "title")
    )
    co_owned = list(
        ActionCoOwner.objects.filter(organisation=organisation, action__plan__in=visible)
        .select_related("action", "action__plan", "action__key_step", "action__owner_organisation")
        .order_by("action__plan__title", "action__plan_id", "action__title")
    )
    return OrganisationCommitments(organisation, commitments, owned, co_owned)
