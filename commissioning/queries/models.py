"""Queries about submitted values that both sides answer (issue 22, "Queries that both sides can answer").

Querying a value in the review queue (outcomes.services.outcome_values_review) opens a thread
here: the provider's data submitters reply, or correct the value from the thread (an ordinary
amended submission, linked to the message); the commissioner re-queries or resolves it. Every
query has an age and a service level: it is due `VALUE_QUERY_WORKING_DAYS` working days
(England and Wales bank holidays excluded) after it was opened.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from outcomes.models import OutcomeValue, Submission
from stakeholders.models import Organisation


class QueryStatus(models.TextChoices):
    OPEN = "open", "Waiting for the provider"
    ANSWERED = "answered", "Answered: waiting for the commissioner"
    RESOLVED = "resolved", "Resolved"


class MessageKind(models.TextChoices):
    QUERY = "query", "Query"
    REPLY = "reply", "Reply"
    CORRECTION = "correction", "Corrected value"
    REQUERY = "requery", "Queried again"
    RESOLUTION = "resolution", "Resolved"


class ValueQuery(models.Model):
    """One thread about one value, from its first query to its resolution."""

    value = models.ForeignKey(OutcomeValue, on_delete=models.CASCADE, related_name="queries")
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="value_queries")
    commissioner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="raised_value_queries",
        help_text="The commissioning organisation the query was raised for.",
    )
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    due_on = models.DateField(help_text="The service level: resolved by this day.")
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["value"], condition=~Q(status="resolved"), name="value_query_one_unresolved_per_value"
            )
        ]
        indexes = [
            models.Index(fields=["provider", "status"], name="value_query_by_provider"),
            models.Index(fields=["status", "due_on"], name="value_query_by_due"),
        ]

    def __str__(self) -> str:
        return f"Query on {self.value}"

    def is_overdue(self, today=None) -> bool:
        return self.status != QueryStatus.RESOLVED and self.due_on < (today or timezone.localdate())


class ValueQueryMessage(models.Model):
    """A message in a query thread: the query, replies, corrections, re-queries and the resolution."""

    query = models.ForeignKey(ValueQuery, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    text = models.TextField(max_length=2000, blank=True)
    submission = models.ForeignKey(
        Submission,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The amended submission a correction made.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:40]}"
