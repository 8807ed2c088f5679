"""Partnership meetings and decisions with recorded views (issue 22, "Partnership decisions with recorded views").

A decision starts as a proposal (title, text, optional options, a deadline for views). Each
member organisation's people record its stance (agree, abstain, disagree, block, with a reason
for the last two); one current stance per organisation, changeable while the proposal is open,
every change kept in history. The partnership's managers then record the outcome (agreed, not
agreed, later done or rescinded) with an owner, a due date and linked actions. Stances stay on
the record after the outcome: dissent is never hidden.

Meetings have an agenda, attendees, minutes and the decisions taken or proposals discussed there.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from kernel.concurrency import Versioned
from stakeholders.models import Organisation


class DecisionStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    AGREED = "agreed", "Agreed"
    NOT_AGREED = "not_agreed", "Not agreed"
    DONE = "done", "Done"
    RESCINDED = "rescinded", "Rescinded"


# The status pipeline (services.decision_record_outcome checks it). Staying in the same
# status is always allowed: it corrects the outcome statement, owner, due date or actions.
TRANSITIONS: dict[str, frozenset[str]] = {
    DecisionStatus.PROPOSED: frozenset({DecisionStatus.AGREED, DecisionStatus.NOT_AGREED, DecisionStatus.RESCINDED}),
    DecisionStatus.AGREED: frozenset({DecisionStatus.DONE, DecisionStatus.RESCINDED}),
    DecisionStatus.NOT_AGREED: frozenset(),
    DecisionStatus.DONE: frozenset(),
    DecisionStatus.RESCINDED: frozenset(),
}


class StanceChoice(models.TextChoices):
    AGREE = "agree", "Agree"
    ABSTAIN = "abstain", "Abstain"
    DISAGREE = "disagree", "Disagree"
    BLOCK = "block", "Block"


NEEDS_REASON = (StanceChoice.DISAGREE, StanceChoice.BLOCK)


@pghistory.track()
class Meeting(Versioned):
    """A partnership meeting: agenda before, attendees and minutes after, and its decisions."""

    partnership = models.ForeignKey("commissioning.Partnership", on_delete=models.CASCADE, related_name="meetings")
    date = models.DateField()
    title = models.CharField(max_length=200)
    agenda = models.TextField(blank=True, help_text="Markdown: headings, lists, links and emphasis.")
    minutes = models.TextField(blank=True, help_text="Markdown. Attendees are told when minutes are first published.")
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    also_attending = models.TextField(
        blank=True, help_text="Anyone else who attended, one per line (name and organisation)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "commissioning"
        ordering = ["-date", "-pk"]

    def __str__(self) -> str:
        return f"{self.title} ({self.date:%d %b %Y})"

    def get_absolute_url(self) -> str:
        return reverse("meeting_detail", args=[self.partnership.slug, self.pk])

    @property
    def also_attending_list(self) -> list[str]:
        return [line.strip() for line in self.also_attending.splitlines() if line.strip()]


@pghistory.track()
class Decision(Versioned):
    """One entry of a partnership's decisions log: a proposal, the members' views, the outcome."""

    history_name_field = "title"

    partnership = models.ForeignKey("commissioning.Partnership", on_delete=models.CASCADE, related_name="decisions")
    meeting = models.ForeignKey(
        Meeting,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions",
        help_text="The meeting that discusses or took it.",
    )
    title = models.CharField(max_length=200)
    text = models.TextField(help_text="Markdown: what is proposed, and why.")
    options = models.JSONField(
        default=list, blank=True, help_text="Alternatives a member may prefer when it records its stance."
    )
    deadline = models.DateField(null=True, blank=True, help_text="Members record their stances until the end of it.")
    status = models.CharField(max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.PROPOSED)
    outcome = models.TextField(blank=True, verbose_name="outcome statement")
    owner = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The member who carries it out.",
    )
    due_date = models.DateField(null=True, blank=True)
    actions = models.ManyToManyField(
        "actionplan.Action",
        blank=True,
        related_name="partnership_decisions",
        help_text="Actions, in the partnership's linked plans, that carry the decision out.",
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name="proposed at")
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When the outcome was first recorded.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "commissioning"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["partnership", "status"], name="decision_by_partnership_status")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("decision_detail", args=[self.partnership.slug, self.pk])

    def is_open(self, today: dt.date | None = None) -> bool:
        """Members may record or change stances: still proposed, and the deadline not passed."""
        if self.status != DecisionStatus.PROPOSED:
            return False
        return self.deadline is None or self.deadline >= (today or timezone.localdate())

    def is_overdue(self, today: dt.date | None = None) -> bool:
        return (
            self.status == DecisionStatus.AGREED
            and self.due_date is not None
            and self.due_date < (today or timezone.localdate())
        )


@pghistory.track()
class Stance(models.Model):
    """A member organisation's current view of a decision; earlier views are in its history."""

    history_name_field = "organisation"

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="stances")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    stance = models.CharField(max_length=8, choices=StanceChoice.choices)
    reason = models.TextField(blank=True, max_length=2000)
    preferred_option = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "commissioning"
        ordering = ["organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "organisation"], name="stance_once_per_organisation"),
            models.CheckConstraint(
                name="stance_dissent_has_reason",
                condition=~Q(stance__in=["disagree", "block"]) | ~Q(reason=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.get_stance_display()}"
