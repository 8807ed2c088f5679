"""Commitments: who does what, signed (issue 23).

Each plan has a commitment matrix: its partner organisations (the lead organisation and
``plan.partners``) x the nine key steps. A partner records what it commits to under a step
(:class:`Commitment`: a stated contribution and/or links to the plan's actions it owns or
co-owns). Its accountable officer signs the partner's commitments for the plan
(:class:`PartnerSignOff`): the signature keeps a fingerprint of the commitments it covered,
so any later change to them leaves the signature stale until someone signs again. A plan
manager may instead record why a partner has not signed (the waiver reason on the same row).
Lived-experience representatives (:class:`PlanRepresentative`) co-sign the whole matrix.

All four are tracked by django-pghistory, so signatures, reasons and every commitment change
are in the plan's history. Rules live in ``actionplan.commitments`` (services, permissions).
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from actionplan.models.plans import Action, KeyStep, Plan
from kernel.concurrency import Versioned
from stakeholders.models import LivedExperience, Organisation


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Commitment(Versioned):
    """What one partner organisation commits to under one key step of one plan."""

    history_name_field = "organisation"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="commitments")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="plan_commitments")
    key_step = models.ForeignKey(KeyStep, on_delete=models.PROTECT, related_name="commitments", verbose_name="key step")
    contribution = models.TextField(
        "stated contribution",
        blank=True,
        max_length=2000,
        help_text="What your organisation will do under this step, in a sentence or two.",
    )
    actions = models.ManyToManyField(
        Action, through="CommitmentAction", related_name="commitments", blank=True, verbose_name="linked actions"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation__name", "key_step__number", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "organisation", "key_step"], name="commitment_once_per_cell"),
        ]
        indexes = [models.Index(fields=["organisation", "plan"], name="commitment_org_plan")]

    def __str__(self) -> str:
        return f"{self.organisation} under step {self.key_step_id}"


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class CommitmentAction(models.Model):
    """A commitment's link to one of the plan's actions its organisation owns or co-owns."""

    history_name_field = "action"

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="action_links")
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="commitment_links")

    class Meta:
        ordering = ["action__title", "id"]
        constraints = [models.UniqueConstraint(fields=["commitment", "action"], name="commitment_action_once")]
        verbose_name = "commitment's linked action"

    def __str__(self) -> str:
        return str(self.action_id)


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class PartnerSignOff(models.Model):
    """A partner's signature on its commitments to a plan, or a manager's reason it has none.

    ``fingerprint`` is what the signature covered (``actionplan.commitments.services.fingerprint``);
    the signature is current while it equals the fingerprint of the partner's commitments now.
    """

    history_name_field = "organisation"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="sign_offs")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="plan_sign_offs")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_as = models.CharField("signed as", max_length=120, blank=True, help_text="The signer's role or job title.")
    fingerprint = models.CharField("fingerprint of the commitments signed", max_length=64, blank=True)
    waiver_reason = models.TextField(
        "why it has not signed",
        blank=True,
        max_length=1000,
        help_text="Recorded by a plan manager so the plan can become active without this partner's signature.",
    )
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    waived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "organisation"], name="sign_off_once_per_partner"),
            models.CheckConstraint(
                name="sign_off_signature_is_whole",
                condition=Q(signed_by__isnull=True, signed_at__isnull=True, fingerprint="")
                | Q(signed_by__isnull=False, signed_at__isnull=False) & ~Q(fingerprint=""),
            ),
        ]
        verbose_name = "partner sign-off"

    def __str__(self) -> str:
        return f"{self.organisation} on {self.plan_id}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class PlanRepresentative(models.Model):
    """A service user or carer named to sit with the partners on a plan (issue 23).

    Representatives see the plan while it is a draft, comment on it first, and co-sign the
    commitment matrix: ``cosigned_fingerprint`` is the fingerprint of the whole matrix they signed.
    """

    history_name_field = "user"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="representatives")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="represented_plans")
    lived_experience = models.CharField(
        "represents", max_length=20, choices=[c for c in LivedExperience.choices if c[0]]
    )
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)
    cosigned_at = models.DateTimeField("co-signed at", null=True, blank=True)
    cosigned_fingerprint = models.CharField("fingerprint of the matrix co-signed", max_length=64, blank=True)

    class Meta:
        ordering = ["user__display_name", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "user"], name="representative_once_per_plan")]
        verbose_name = "lived-experience representative"

    def __str__(self) -> str:
        return str(self.user)
