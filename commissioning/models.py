"""Collaborative commissioning: partnerships of commissioners, contracts and their outcome-linked measures.

Contract status is never stored stale: a contract is either still a draft or agreed, and
an agreed contract is active, expiring (ends within six months) or ended according to
today's date (`Contract.status_on`, and `ContractQuerySet.with_status` for SQL filters).
Money is integer pence. Shares of a contract's value linked to outcome measures are basis
points (1/100 of a percent); the shares of one contract total at most 10,000 (100%),
enforced by `services.measure_create/measure_update` under a row lock on the contract.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from kernel import numbers
from kernel.concurrency import Versioned
from outcomes.models import Indicator
from outcomes.periods import add_months
from stakeholders.models import Area, AreaLevel, Organisation

EXPIRING_MONTHS = 6
FULL_SHARE_BP = 10_000  # 100% in basis points


class PartnershipScope(models.TextChoices):
    PAN_LONDON = "pan_london", "Pan-London"
    SUB_REGION = "sub_region", "ICS sub-region"
    BOROUGHS = "boroughs", "Group of boroughs"


class MemberRole(models.TextChoices):
    LEAD = "lead", "Lead commissioner"
    MEMBER = "member", "Member"


@pghistory.track()
class Partnership(models.Model):
    """Commissioners (ICBs, local authorities) working together across boroughs."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    scope = models.CharField(max_length=12, choices=PartnershipScope.choices)
    sub_region = models.ForeignKey(
        Area,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": AreaLevel.SUB_REGION},
        verbose_name="ICS sub-region",
    )
    boroughs = models.ManyToManyField(
        Area, related_name="partnerships", blank=True, limit_choices_to={"level": AreaLevel.BOROUGH}
    )
    terms_of_reference = models.TextField(blank=True, help_text="Markdown: headings, lists, links and emphasis.")
    plans = models.ManyToManyField(
        "actionplan.Plan", related_name="partnerships", blank=True, help_text="Action plans the partnership oversees."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="partnership_sub_region_iff_scope",
                condition=Q(scope=PartnershipScope.SUB_REGION, sub_region__isnull=False)
                | (~Q(scope=PartnershipScope.SUB_REGION) & Q(sub_region__isnull=True)),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("partnership_detail", args=[self.slug])


class PartnershipMember(models.Model):
    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="partnership_memberships")
    role = models.CharField(max_length=8, choices=MemberRole.choices, default=MemberRole.MEMBER)

    class Meta:
        ordering = ["role", "organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["partnership", "organisation"], name="partnership_member_once"),
            models.UniqueConstraint(
                fields=["partnership"], condition=Q(role=MemberRole.LEAD), name="partnership_one_lead"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()}) in {self.partnership}"


class ContractForm(models.TextChoices):
    SINGLE = "single", "Single provider"
    LEAD_PROVIDER = "lead_provider", "Lead provider with subcontractors"
    ALLIANCE = "alliance", "Alliance of providers with shared outcomes"


class ProviderRole(models.TextChoices):
    LEAD = "lead", "Lead provider"
    SUBCONTRACTOR = "subcontractor", "Subcontractor"
    ALLIANCE_PARTNER = "alliance_partner", "Alliance partner"


class ContractStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    EXPIRING = "expiring", "Expiring"
    ENDED = "ended", "Ended"


# Value bands shown in public summaries instead of the exact value (upper bound in pence, label).
# Labels use an en dash, as money ranges are written in NHS publications.
VALUE_BANDS: list[tuple[int | None, str]] = [
    (10_000_000, "Under £100k"),
    (50_000_000, "£100k–£500k"),  # noqa: RUF001
    (100_000_000, "£500k–£1m"),  # noqa: RUF001
    (500_000_000, "£1m–£5m"),  # noqa: RUF001
    (1_000_000_000, "£5m–£10m"),  # noqa: RUF001
    (None, "£10m or more"),
]


def value_band(pence: int) -> str:
    for upper, label in VALUE_BANDS:
        if upper is None or pence < upper:
            return label
    return VALUE_BANDS[-1][1]  # pragma: no cover


def format_pounds(pence: int | None) -> str:
    """Money as the pages write it, in whole pounds: £1,250,000 (kernel.numbers)."""
    return numbers.format_pounds(pence)


class ContractQuerySet(models.QuerySet):
    def with_status(self, today: dt.date | None = None) -> ContractQuerySet:
        """Annotate `current_status` computed from the dates, for filtering and ordering in SQL."""
        today = today or timezone.localdate()
        return self.annotate(
            current_status=Case(
                When(agreed=False, then=Value(ContractStatus.DRAFT)),
                When(end_date__lt=today, then=Value(ContractStatus.ENDED)),
                When(end_date__lte=add_months(today, EXPIRING_MONTHS), then=Value(ContractStatus.EXPIRING)),
                default=Value(ContractStatus.ACTIVE),
                output_field=models.CharField(),
            )
        )


@pghistory.track()
class Contract(Versioned):
    """A commissioned service: who commissions it, which providers deliver it where, for how much."""

    reference = models.CharField(max_length=40, unique=True, help_text="Your contract reference, e.g. NCL-MH-2026-01.")
    title = models.CharField(max_length=200)
    service_description = models.TextField()
    commissioner_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commissioned_contracts",
        verbose_name="commissioning organisation",
    )
    commissioner_partnership = models.ForeignKey(
        Partnership,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name="commissioning partnership",
    )
    form = models.CharField(max_length=16, choices=ContractForm.choices, verbose_name="contract form")
    boroughs = models.ManyToManyField(
        Area, related_name="contracts", limit_choices_to={"level": AreaLevel.BOROUGH}, verbose_name="boroughs covered"
    )
    annual_value_pence = models.BigIntegerField(verbose_name="annual value (pence)")
    start_date = models.DateField()
    end_date = models.DateField()
    agreed = models.BooleanField(default=False, help_text="Unticked: still a draft.")
    publishable = models.BooleanField(
        default=False, help_text="Show a public summary (title, parties, boroughs, form, status, value band)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContractQuerySet.as_manager()

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.CheckConstraint(
                name="contract_exactly_one_commissioner",
                condition=Q(commissioner_organisation__isnull=False, commissioner_partnership__isnull=True)
                | Q(commissioner_organisation__isnull=True, commissioner_partnership__isnull=False),
            ),
            models.CheckConstraint(name="contract_value_not_negative", condition=Q(annual_value_pence__gte=0)),
            models.CheckConstraint(name="contract_ends_after_start", condition=Q(end_date__gte=models.F("start_date"))),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("contract_detail", args=[self.pk])

    @property
    def commissioner(self) -> Organisation | Partnership | None:
        return self.commissioner_organisation or self.commissioner_partnership

    def status_on(self, today: dt.date) -> str:
        if not self.agreed:
            return ContractStatus.DRAFT
        if self.end_date < today:
            return ContractStatus.ENDED
        if self.end_date <= add_months(today, EXPIRING_MONTHS):
            return ContractStatus.EXPIRING
        return ContractStatus.ACTIVE

    @property
    def status(self) -> str:
        return getattr(self, "current_status", None) or self.status_on(timezone.localdate())

    @property
    def status_label(self) -> str:
        return ContractStatus(self.status).label

    @property
    def value_band(self) -> str:
        return value_band(self.annual_value_pence)

    @property
    def annual_value_display(self) -> str:
        return format_pounds(self.annual_value_pence)


@pghistory.track()
class ContractProvider(models.Model):
    # How history names a row: organisation (kernel.history), not the row's id.
    history_name_field = "organisation"
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="providers")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="provider_contracts")
    role = models.CharField(max_length=16, choices=ProviderRole.choices)

    class Meta:
        ordering = ["role", "organisation__name"]
        constraints = [models.UniqueConstraint(fields=["contract", "organisation"], name="contract_provider_once")]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()})"


@pghistory.track()
class ContractMeasure(Versioned):
    """An outcome measure in a contract, with a share of the contract's value linked to it."""

    # How history names a row: indicator (kernel.history), not the row's id.
    history_name_field = "indicator"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="measures")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="contract_measures")
    baseline = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    target = models.DecimalField(max_digits=14, decimal_places=4)
    share_bp = models.PositiveIntegerField(
        verbose_name="share of contract value linked (basis points)",
        help_text="1 basis point is 0.01%; 500 is 5%.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["contract", "indicator__name"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "indicator"], name="contract_measure_once_per_indicator"),
            models.CheckConstraint(name="contract_measure_share_at_most_100", condition=Q(share_bp__lte=FULL_SHARE_BP)),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} in {self.contract.reference}"

    @property
    def share_percent(self) -> Decimal:
        return Decimal(self.share_bp) / 100

    @property
    def linked_pence(self) -> int:
        return self.contract.annual_value_pence * self.share_bp // FULL_SHARE_BP


# Reporting schedules (issue 22) live in their own module; imported here so Django finds them.
# Queries about submitted values (issue 22) live in their own module too.
# Partnership meetings and decisions with recorded views (issue 22) too.
from commissioning.decisions.models import (  # noqa: E402, F401
    Decision,
    DecisionStatus,
    Meeting,
    Stance,
    StanceChoice,
)

# Quarterly stories told from the data (issue 23).
from commissioning.narrative.models import Story, StoryStatus  # noqa: E402, F401
from commissioning.queries.models import (  # noqa: E402, F401
    MessageKind,
    QueryStatus,
    ValueQuery,
    ValueQueryMessage,
)
from commissioning.schedules.models import (  # noqa: E402, F401
    ReminderKind,
    ReportingSchedule,
    ScheduleBorough,
    ScheduleIndicator,
    ScheduleReminder,
)

# Agreed performance statements for outcome-linked payments (issue 22).
from commissioning.statements.models import (  # noqa: E402, F401
    Judgement,
    LineMessage,
    LineStance,
    Party,
    PaymentStatement,
    StatementLine,
    StatementStatus,
)
