"""Duplicated work across plans: dismissed candidate pairs, merges and the plans a merged action is shared into.

A candidate pair is not stored: ``actionplan.duplicates.selectors`` finds pairs with one query
each time. What people decide about a pair is stored:

- :class:`DismissedPair`: "not the same work", by a manager of either plan, with the reason.
  A pair is stored once, its lower action id first. Un-dismissing deletes the row (its history
  keeps it).
- :class:`MergeRecord`: two actions merged into one shared action. The kept action takes what
  the retired one brought (listed in ``moved`` so a split can give it back); the retired action
  keeps its row, with ``Action.merged_into`` pointing at the kept one, so nothing is lost.
- :class:`SharedAction`: a plan that lists another plan's action as its own (the retired
  action's plan, after a merge), so that plan's page, progress, key steps, exports and the API
  show the shared action once.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.utils import timezone

from actionplan.models.plans import Action, Plan


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class DismissedPair(models.Model):
    """Two actions a manager of either plan said are not the same work; never shown again unless un-dismissed."""

    action_a = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="+")
    action_b = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="+")
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(max_length=1000)
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-dismissed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["action_a", "action_b"], name="dismissed_pair_once"),
            # One row per pair: the lower id first, so (a, b) and (b, a) cannot both be stored.
            models.CheckConstraint(
                name="dismissed_pair_ordered", condition=models.Q(action_a__lt=models.F("action_b"))
            ),
        ]
        indexes = [models.Index(fields=["action_b"], name="dismissed_pair_b")]

    def __str__(self) -> str:
        return f"{self.action_a_id} / {self.action_b_id}: not the same work"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class MergeRecord(models.Model):
    """One merge of ``retired`` into ``kept``, and what moved, so a split can restore it.

    ``moved`` holds the ids of what the retired action brought: milestones and indicator links
    moved across, co-owner rows created, and the partners, priority areas, evidence and
    dependencies the kept action gained. A record with ``split_at`` set is history.
    """

    kept = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="merges_kept")
    retired = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="merges_retired")
    reason = models.TextField(max_length=1000, blank=True)
    moved = models.JSONField(default=dict, blank=True)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    merged_at = models.DateTimeField(default=timezone.now)
    split_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    split_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-merged_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["retired"], condition=models.Q(split_at__isnull=True), name="merge_record_one_live_per_retired"
            ),
            models.CheckConstraint(name="merge_record_two_actions", condition=~models.Q(kept=models.F("retired"))),
        ]

    def __str__(self) -> str:
        return f"{self.retired_id} merged into {self.kept_id}"

    @property
    def is_live(self) -> bool:
        return self.split_at is None


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class SharedAction(models.Model):
    """A plan that shows another plan's action as one of its own (made by a merge, removed by its split)."""

    history_name_field = "action"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="shared_actions")
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="shared_into")
    merge = models.ForeignKey(MergeRecord, on_delete=models.CASCADE, related_name="shares")
    shared_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "action"]
        constraints = [models.UniqueConstraint(fields=["plan", "action"], name="shared_action_once")]

    def __str__(self) -> str:
        return f"{self.action_id} shared into {self.plan_id}"
