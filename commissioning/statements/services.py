"""Every write about payment statements. Permissions: commissioning.statements.permissions.

Each write names its actor in the history (``pghistory.context(user=...)``) and tells the other
side through the notification service (kind ``statement``): a drafted statement -> the provider
side; a disputed line or a message in a line's thread -> the other side; a locked statement ->
both sides. Writes that change what the statement says (a stance, a refresh) are compare-and-set
on the statement's version (its ETag): a stale one raises StaleEdit and writes nothing.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from actionplan.models import NotificationKind
from actionplan.voice import services as notification_services
from commissioning.models import Contract, PartnershipMember
from commissioning.selectors import contract_measures
from commissioning.statements import permissions
from commissioning.statements.models import (
    LineMessage,
    LineStance,
    Party,
    PaymentStatement,
    Stance,
    StatementLine,
    StatementStatus,
)
from commissioning.statements.selectors import line_values, party_key, period_figures
from kernel.concurrency import StaleEdit
from kernel.history import records_actor
from outcomes.periods import add_months
from stakeholders.models import COMMISSIONER_TYPES, Membership, Role, User

MAX_TEXT = 2000
QUARTER_MONTHS = (1, 4, 7, 10)


def _text(text: str, *, field: str, required: str = "") -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationError({field: required})
    if len(text) > MAX_TEXT:
        raise ValidationError({field: f"Keep it to {MAX_TEXT:,} characters (this has {len(text):,})."})
    return text


# Who is told ---------------------------------------------------------------------------------


def commissioner_side(contract: Contract) -> list[User]:
    """Commissioners of the contract's commissioning organisation, or of its partnership's members."""
    if contract.commissioner_organisation_id:
        orgs = [contract.commissioner_organisation_id]
    else:
        orgs = list(
            PartnershipMember.objects.filter(partnership_id=contract.commissioner_partnership_id).values_list(
                "organisation_id", flat=True
            )
        )
    return _members(orgs, role=Role.COMMISSIONER, commissioning=True)


def provider_side(contract: Contract) -> list[User]:
    """Members of the party providers (the lead provider, or every alliance partner)."""
    return _members(permissions.party_provider_ids(contract))


def _members(orgs: list[int], *, role: str | None = None, commissioning: bool = False) -> list[User]:
    qs = Membership.objects.filter(organisation_id__in=orgs, user__is_active=True)
    if role:
        qs = qs.filter(role=role)
    if commissioning:
        qs = qs.filter(organisation__type__in=list(COMMISSIONER_TYPES))
    ids = sorted(set(qs.values_list("user_id", flat=True)))
    users = User.objects.in_bulk(ids)
    return [users[i] for i in ids]


@records_actor
def _tell(users: list[User], *, actor: User | None, text: str, statement: PaymentStatement) -> int:
    if len(text) > 300:
        text = text[:299] + "\u2026"
    url = reverse("statement_detail", args=[statement.pk])
    told = 0
    for user in users:
        if actor is not None and user.pk == actor.pk:
            continue
        notification_services.notify(recipient=user, kind=NotificationKind.STATEMENT, text=text, url=url)
        told += 1
    return told


def _other_side(contract: Contract, party: str) -> list[User]:
    return provider_side(contract) if party == Party.COMMISSIONER else commissioner_side(contract)


# Drafting and refreshing -----------------------------------------------------------------------


def quarter_end(start: dt.date) -> dt.date:
    return add_months(start, 3) - dt.timedelta(days=1)


def _freeze(statement: PaymentStatement) -> None:
    """(Re)write the statement's lines from today's approved figures: one query for all the figures."""
    contract = statement.contract
    measures = list(contract_measures(contract))
    for m in measures:
        m.contract = contract
    figures = period_figures(
        contract,
        measures,
        statement.period_start,
        statement.period_end,
        boroughs_total=contract.boroughs.count(),
    )
    existing = {line.measure_id: line for line in statement.lines.all()}
    keep, new = [], []
    for position, fig in enumerate(figures):
        values = line_values(fig)
        line = existing.pop(fig.measure.pk, None)
        if line is None:
            new.append(StatementLine(statement=statement, position=position, **values))
        else:
            for name, value in values.items():
                setattr(line, name, value)
            line.position = position
            keep.append(line)
    for line in [*keep, *new]:
        line.full_clean(exclude=["statement", "measure"])
    if existing:
        StatementLine.objects.filter(pk__in=[line.pk for line in existing.values()]).delete()
    if keep:
        fields = [f.name for f in StatementLine._meta.concrete_fields if f.name not in ("id", "statement")]
        StatementLine.objects.bulk_update(keep, fields)
    if new:
        StatementLine.objects.bulk_create(new)


@records_actor
@transaction.atomic
def statement_draft(*, actor: User, contract: Contract, period_start: dt.date) -> PaymentStatement:
    """Draft the statement of a contract for the quarter starting `period_start`; tell the provider side.

    Permission: statement_role(...).drafts (the commissioner side). The quarter is a financial-year
    quarter (April to June, ...), has started, and overlaps the contract; one statement per quarter.
    """
    role = permissions.statement_role(actor, contract)
    if role is None or not role.drafts:
        raise PermissionDenied
    if period_start.day != 1 or period_start.month not in QUARTER_MONTHS:
        raise ValidationError(
            {"period_start": "A payment period is a quarter starting on 1 April, 1 July, 1 October or 1 January."}
        )
    period_end = quarter_end(period_start)
    if period_start > timezone.localdate():
        raise ValidationError({"period_start": "That quarter has not started yet: draft it once it has."})
    if period_end < contract.start_date or period_start > contract.end_date:
        raise ValidationError(
            {
                "period_start": f"The contract runs from {contract.start_date:%-d %B %Y} to "
                f"{contract.end_date:%-d %B %Y}: choose a quarter inside it."
            }
        )
    Contract.objects.select_for_update().filter(pk=contract.pk).first()
    if PaymentStatement.objects.filter(contract=contract, period_start=period_start).exists():
        raise ValidationError({"period_start": "This contract already has a statement for that quarter."})
    now = timezone.now()
    with pghistory.context(user=actor.pk):
        statement = PaymentStatement(
            contract=contract,
            period_start=period_start,
            period_end=period_end,
            drafted_by=actor,
            drafted_at=now,
            frozen_at=now,
        )
        statement.full_clean()
        statement.save()
        _freeze(statement)
    _tell(
        provider_side(contract),
        actor=actor,
        text=f"{actor.display_name} drafted the payment statement of {contract.reference} for "
        f"{statement.period_label}: please agree or dispute each line.",
        statement=statement,
    )
    return statement


def _at_version(statement: PaymentStatement, expected_version: int) -> PaymentStatement:
    """The statement, row-locked, if it is still at `expected_version` and open (StaleEdit / ValidationError)."""
    fresh = PaymentStatement.objects.select_for_update().filter(pk=statement.pk).first()
    if fresh is None:
        from kernel.concurrency import Gone

        raise Gone("The statement no longer exists.")
    if fresh.version != expected_version:
        raise StaleEdit(fresh, expected_version)
    if fresh.status == StatementStatus.LOCKED:
        raise ValidationError("This statement is agreed and locked: nothing on it changes.")
    return fresh


def _bump(statement: PaymentStatement, **values) -> None:
    PaymentStatement.objects.filter(pk=statement.pk).update(version=F("version") + 1, **values)
    statement.version += 1
    for name, value in values.items():
        setattr(statement, name, value)


@records_actor
@transaction.atomic
def statement_refresh(*, actor: User, statement: PaymentStatement, expected_version: int) -> int:
    """Freeze the figures again from today's approved data. Returns how many stances it reset.

    Permission: the commissioner side. Once any party has taken a stance, a refresh resets every
    stance (they stay in the history, marked as reset): the parties agreed other figures.
    """
    role = permissions.statement_role(actor, statement.contract)
    if role is None or not role.drafts:
        raise PermissionDenied
    fresh = _at_version(statement, expected_version)
    fresh.contract = statement.contract
    now = timezone.now()
    with pghistory.context(user=actor.pk, refresh=True):
        reset = LineStance.objects.filter(line__statement=fresh, reset_at__isnull=True).update(reset_at=now)
        _freeze(fresh)
        _bump(fresh, frozen_at=now)
    statement.version, statement.frozen_at = fresh.version, now
    if reset:
        _tell(
            provider_side(statement.contract),
            actor=actor,
            text=f"{actor.display_name} refreshed the figures of the payment statement of "
            f"{statement.contract.reference} for {statement.period_label}: earlier agreements and disputes "
            "were reset, please look again.",
            statement=statement,
        )
    return reset


# Stances and threads ---------------------------------------------------------------------------


def _counting_stances(statement: PaymentStatement) -> dict[tuple[int, str], str]:
    latest: dict[tuple[int, str], str] = {}
    for line_id, party, org, stance in (
        LineStance.objects.filter(line__statement=statement, reset_at__isnull=True)
        .order_by("created_at", "pk")
        .values_list("line_id", "party", "organisation_id", "stance")
    ):
        latest[(line_id, party_key(party, org))] = stance
    return latest


def _lock_if_agreed(actor: User, statement: PaymentStatement) -> bool:
    contract = statement.contract
    parties = ["commissioner", *(f"provider:{org}" for org in permissions.party_provider_ids(contract))]
    line_ids = list(statement.lines.values_list("pk", flat=True))
    latest = _counting_stances(statement)
    if not line_ids or any(latest.get((line, p)) != Stance.AGREE for line in line_ids for p in parties):
        return False
    now = timezone.now()
    PaymentStatement.objects.filter(pk=statement.pk).update(status=StatementStatus.LOCKED, locked_at=now)
    statement.status, statement.locked_at = StatementStatus.LOCKED, now
    _tell(
        commissioner_side(contract) + provider_side(contract),
        actor=None,
        text=f"The payment statement of {contract.reference} for {statement.period_label} is agreed by every "
        "party and locked.",
        statement=statement,
    )
    return True


def _stance(actor: User, role, line: StatementLine, stance: str, reason: str, now) -> LineStance:
    record = LineStance(
        line=line,
        party=role.party,
        stance=stance,
        reason=reason,
        organisation_id=role.organisation_id,
        user=actor,
        created_at=now,
    )
    record.full_clean(exclude=["line", "organisation", "user"])
    record.save()
    return record


@records_actor
@transaction.atomic
def line_stance_record(
    *, actor: User, line: StatementLine, stance: str, reason: str = "", expected_version: int
) -> LineStance:
    """Agree or dispute one line for the actor's party (a dispute needs a reason); lock when all agree.

    Permission: statement_role(...).acts. A dispute tells the other side.
    """
    statement = line.statement
    role = permissions.statement_role(actor, statement.contract)
    if role is None or not role.acts:
        raise PermissionDenied
    if stance not in Stance.values:
        raise ValidationError({"stance": "Choose agree or dispute."})
    reason = _text(
        reason, field="reason", required="Say why you dispute this line." if stance == Stance.DISPUTE else ""
    )
    fresh = _at_version(statement, expected_version)
    fresh.contract = statement.contract
    with pghistory.context(user=actor.pk):
        record = _stance(actor, role, line, stance, reason, timezone.now())
        _bump(fresh)
        locked = _lock_if_agreed(actor, fresh)
    statement.version, statement.status, statement.locked_at = fresh.version, fresh.status, fresh.locked_at
    if stance == Stance.DISPUTE and not locked:
        _tell(
            _other_side(statement.contract, role.party),
            actor=actor,
            text=f"{actor.display_name} disputed “{line.indicator_name}” on the payment statement of "
            f"{statement.contract.reference} for {statement.period_label}: {reason}",
            statement=statement,
        )
    return record


@records_actor
@transaction.atomic
def statement_agree_all(*, actor: User, statement: PaymentStatement, expected_version: int) -> int:
    """Agree every line the actor's party has not already agreed. Returns how many stances it took."""
    role = permissions.statement_role(actor, statement.contract)
    if role is None or not role.acts:
        raise PermissionDenied
    fresh = _at_version(statement, expected_version)
    fresh.contract = statement.contract
    key = party_key(role.party, role.organisation_id)
    latest = _counting_stances(fresh)
    now = timezone.now()
    taken = 0
    with pghistory.context(user=actor.pk):
        for line in fresh.lines.order_by("position", "pk"):
            if latest.get((line.pk, key)) != Stance.AGREE:
                _stance(actor, role, line, Stance.AGREE, "", now)
                taken += 1
        if taken:
            _bump(fresh)
            _lock_if_agreed(actor, fresh)
    statement.version, statement.status, statement.locked_at = fresh.version, fresh.status, fresh.locked_at
    return taken


@records_actor
@transaction.atomic
def line_message_post(*, actor: User, line: StatementLine, text: str) -> LineMessage:
    """Add a message to a line's thread; tell the other side. Permission: statement_role(...).acts.

    A locked statement takes no more messages (it never changes).
    """
    statement = line.statement
    role = permissions.statement_role(actor, statement.contract)
    if role is None or not role.acts:
        raise PermissionDenied
    text = _text(text, field="text", required="Write your message.")
    status = PaymentStatement.objects.filter(pk=statement.pk).values_list("status", flat=True).first()
    if status == StatementStatus.LOCKED:
        raise ValidationError("This statement is agreed and locked: its threads are closed.")
    with pghistory.context(user=actor.pk):
        message = LineMessage(
            line=line, author=actor, organisation_id=role.organisation_id, party=role.party, text=text
        )
        message.full_clean(exclude=["line", "author", "organisation"])
        message.save()
    _tell(
        _other_side(statement.contract, role.party),
        actor=actor,
        text=f"{actor.display_name} wrote about “{line.indicator_name}” on the payment statement of "
        f"{statement.contract.reference}: {text}",
        statement=statement,
    )
    return message
