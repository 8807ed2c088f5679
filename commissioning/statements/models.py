"""Agreed performance statements for outcome-linked payments (issue 22).

For one contract and one payment period (a financial-year quarter by default), a statement
freezes each outcome measure's figure, its 95% limits, its target, the judgement and the money
earned, at risk or held (`StatementLine`). The commissioner and the provider side each agree or
dispute every line (`LineStance`: every stance is kept, the latest per party counts); a disputed
line has its own thread (`LineMessage`). When every party's latest stance on every line is
"agree" the statement locks, and a locked statement never changes again: later data changes
are shown next to it, never written into it. Rules: docs/commissioning.md, "Payment statements".
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from kernel.concurrency import Versioned
from stakeholders.models import Organisation


class StatementStatus(models.TextChoices):
    OPEN = "open", "Open: waiting for agreement"
    LOCKED = "locked", "Agreed and locked"


class Judgement(models.TextChoices):
    """One rule for statements and the contract performance page (commissioning.selectors.judge).

    The stored codes are the performance API's published ones (met, not_met, unknown).
    """

    MET = "met", "Target met"
    MISSED = "not_met", "Target missed"
    UNCERTAIN = "unknown", "Not yet certain"


class Party(models.TextChoices):
    COMMISSIONER = "commissioner", "Commissioner"
    PROVIDER = "provider", "Provider"


class Stance(models.TextChoices):
    AGREE = "agree", "Agreed"
    DISPUTE = "dispute", "Disputed"


@pghistory.track()
class PaymentStatement(Versioned):
    """One contract's agreed performance for one payment period. Its version is the API's ETag."""

    contract = models.ForeignKey("commissioning.Contract", on_delete=models.CASCADE, related_name="statements")
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=8, choices=StatementStatus.choices, default=StatementStatus.OPEN)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    drafted_at = models.DateTimeField(default=timezone.now)
    frozen_at = models.DateTimeField(default=timezone.now, help_text="When the figures were last frozen.")
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["contract", "-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "period_start"], name="statement_once_per_period"),
            models.CheckConstraint(
                name="statement_ends_after_start", condition=Q(period_end__gte=models.F("period_start"))
            ),
            models.CheckConstraint(
                name="statement_locked_iff_locked_at",
                condition=Q(status="locked", locked_at__isnull=False)
                | (~Q(status="locked") & Q(locked_at__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.reference}, {self.period_label}"

    def get_absolute_url(self) -> str:
        return reverse("statement_detail", args=[self.pk])

    @property
    def period_label(self) -> str:
        from outcomes.periods import financial_quarter_label

        months = (self.period_end.year - self.period_start.year) * 12 + self.period_end.month - self.period_start.month
        if months == 2 and self.period_start.day == 1 and self.period_start.month in (1, 4, 7, 10):
            return f"{financial_quarter_label(self.period_start)} ({self.period_start:%B} to {self.period_end:%B %Y})"
        return f"{self.period_start:%-d %B %Y} to {self.period_end:%-d %B %Y}"

    @property
    def is_locked(self) -> bool:
        return self.status == StatementStatus.LOCKED


@pghistory.track()
class StatementLine(models.Model):
    """One measure's frozen figures, judgement and money. Nothing here is read live."""

    history_name_field = "indicator_name"

    statement = models.ForeignKey(PaymentStatement, on_delete=models.CASCADE, related_name="lines")
    measure = models.ForeignKey(
        "commissioning.ContractMeasure", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveIntegerField(default=0)
    # Frozen copies of the measure and its indicator.
    indicator_code = models.CharField(max_length=64)
    indicator_name = models.CharField(max_length=200)
    measure_type = models.CharField(max_length=12)
    unit = models.CharField(max_length=40, blank=True)
    polarity = models.CharField(max_length=8)
    period_type = models.CharField(max_length=8)
    periods = models.CharField(max_length=200, blank=True, help_text="The indicator's periods the figure covers.")
    periods_expected = models.PositiveIntegerField(default=0)
    periods_reported = models.PositiveIntegerField(default=0)
    # Frozen figures (exact: shown under disclosure control to those who may not see them exact).
    value = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    lower = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    upper = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    numerator = models.DecimalField(max_digits=24, decimal_places=4, null=True, blank=True)
    denominator = models.BigIntegerField(null=True, blank=True)
    population = models.BigIntegerField(null=True, blank=True)
    boroughs_reporting = models.PositiveIntegerField(default=0)
    boroughs_total = models.PositiveIntegerField(default=0)
    target = models.DecimalField(max_digits=14, decimal_places=4)
    judgement = models.CharField(max_length=8, choices=Judgement.choices)
    judgement_note = models.CharField(max_length=200, blank=True)
    linked_pence = models.BigIntegerField()
    earned_pence = models.BigIntegerField(default=0)
    at_risk_pence = models.BigIntegerField(default=0)
    held_pence = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["statement", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                name="statement_line_money_adds_up",
                condition=Q(linked_pence=models.F("earned_pence") + models.F("at_risk_pence") + models.F("held_pence")),
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator_name} in {self.statement}"


@pghistory.track()
class LineStance(models.Model):
    """One party's agreement or dispute of one line. Every stance is kept; the latest per party counts.

    `reset_at` is set when the statement's figures are refreshed after stances were taken: the
    stance then no longer counts, but stays in the history.
    """

    line = models.ForeignKey(StatementLine, on_delete=models.CASCADE, related_name="stances")
    party = models.CharField(max_length=12, choices=Party.choices)
    stance = models.CharField(max_length=8, choices=Stance.choices)
    reason = models.TextField(max_length=2000, blank=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["line", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(name="line_stance_dispute_has_reason", condition=Q(stance="agree") | ~Q(reason=""))
        ]
        indexes = [models.Index(fields=["line", "party", "organisation"], name="line_stance_by_party")]

    def __str__(self) -> str:
        return f"{self.get_stance_display()} by {self.organisation}"


@pghistory.track()
class LineMessage(models.Model):
    """A message in a line's thread (where a dispute is talked through)."""

    line = models.ForeignKey(StatementLine, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    party = models.CharField(max_length=12, choices=Party.choices)
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["line", "created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:40]
