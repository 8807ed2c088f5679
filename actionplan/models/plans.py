"""Plans, the nine key steps, actions, milestones and the evidence library.

Plans and actions are :class:`~kernel.concurrency.Versioned`: every write goes through
``actionplan.services`` as a compare-and-set on the version. Plans, actions, milestones
and indicator links are tracked by django-pghistory triggers, so bulk updates are in the
history too. Who may see or write a plan is held in guardian's direct foreign-key tables
(:class:`PlanUserObjectPermission`, :class:`PlanGroupObjectPermission`) and answered by
``actionplan.permissions``.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from kernel.concurrency import Versioned
from outcomes.models import Indicator, PriorityArea
from stakeholders.models import Area, Organisation


class KeyStep(models.Model):
    """One of the nine key steps of London's plan of action (how partners work together), in the
    plan's order: fixed reference data (actionplan/key_steps.py, written by a data migration).
    What an action improves is its priority area (outcomes.PriorityArea)."""

    number = models.PositiveSmallIntegerField(unique=True, validators=[MinValueValidator(1), MaxValueValidator(9)])
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=120)
    description = models.TextField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(name="keystep_number_1_to_9", condition=models.Q(number__gte=1, number__lte=9)),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("keystep_detail", args=[self.number])


class PlanScope(models.TextChoices):
    PAN_LONDON = "pan_london", "Pan-London"
    SUB_REGION = "sub_region", "ICS sub-region"
    BOROUGHS = "boroughs", "Borough or boroughs"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    CONSULTATION = "consultation", "In consultation"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class PlanVisibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PARTNERS = "partners", "Partners only"


@pghistory.track()
class Plan(Versioned):
    """A shared action plan for London, an ICS sub-region or one or more boroughs."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    summary = models.TextField(blank=True, help_text="Markdown. Links and lists are kept; anything else is removed.")
    scope = models.CharField(max_length=12, choices=PlanScope.choices, default=PlanScope.PAN_LONDON)
    areas = models.ManyToManyField(
        Area,
        related_name="plans",
        blank=True,
        help_text="The ICS sub-region, or the boroughs, the plan covers. Empty for pan-London plans.",
    )
    lead_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="led_plans", verbose_name="lead organisation"
    )
    partners = models.ManyToManyField(
        Organisation, related_name="partner_plans", blank=True, verbose_name="partner organisations"
    )
    period_start = models.DateField("period starts")
    period_end = models.DateField("period ends")
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.DRAFT, db_index=True)
    visibility = models.CharField(max_length=8, choices=PlanVisibility.choices, default=PlanVisibility.PUBLIC)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="created_plans"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "title", "id"]
        permissions = [
            ("comment_plan", "Can comment on the plan"),
            ("respond_plan", "Can give official responses to comments on the plan"),
            ("manage_plan", "Can manage the plan: grant others and change its status"),
            # Given only by naming a lived-experience representative (actionplan.commitments).
            ("represent_plan", "Represents service users or carers on the plan: sees drafts, comments first"),
        ]
        constraints = [
            models.CheckConstraint(
                name="plan_period_ends_after_start", condition=models.Q(period_end__gte=models.F("period_start"))
            ),
        ]
        indexes = [models.Index(fields=["visibility", "status"], name="plan_visibility_status")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("plan_detail", args=[self.slug])

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": "The period must end on or after the day it starts."})

    @property
    def is_public(self) -> bool:
        return self.visibility == PlanVisibility.PUBLIC


class PlanUserObjectPermission(UserObjectPermissionBase):
    """A permission on one plan given to one person (guardian direct foreign key table)."""

    content_object = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="user_grants")

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "permission"], name="plan_userperm_user")]


class PlanGroupObjectPermission(GroupObjectPermissionBase):
    """A permission on one plan given to a group, i.e. a whole organisation."""

    content_object = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="group_grants")

    class Meta(GroupObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["group", "permission"], name="plan_groupperm_group")]


class ActionStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    DONE = "done", "Done"


class EvidenceType(models.TextChoices):
    EVALUATION = "evaluation", "Evaluation"
    GUIDELINE = "guideline", "Guideline"
    CASE_STUDY = "case_study", "Case study"
    DATASET = "dataset", "Dataset"


@pghistory.track()
class EvidenceItem(models.Model):
    """An item of evidence or best practice that actions can cite (key step 8: using London's academic
    infrastructure to disseminate best practice), tagged with key steps and priority areas."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    summary = models.TextField(help_text="Markdown. What it found or recommends, in plain words.")
    type = models.CharField(max_length=12, choices=EvidenceType.choices)
    url = models.URLField("link", max_length=500, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence_items"
    )
    key_steps = models.ManyToManyField(KeyStep, related_name="evidence_items", blank=True)
    priority_areas = models.ManyToManyField(PriorityArea, related_name="evidence_items", blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="published_evidence"
    )
    published_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept up to date by actionplan.services (title weighted above summary).
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-published_at", "id"]
        indexes = [GinIndex(fields=["search_vector"], name="evidence_search")]
        verbose_name = "evidence item"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("evidence_detail", args=[self.slug])


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Action(Versioned):
    """Something a plan commits to do under one key step, owned by an organisation and led by a person."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="actions")
    key_step = models.ForeignKey(KeyStep, on_delete=models.PROTECT, related_name="actions", verbose_name="key step")
    priority_areas = models.ManyToManyField(
        PriorityArea,
        related_name="actions",
        blank=True,
        verbose_name="priority areas",
        help_text="What the action improves: any number of priority areas.",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")
    owner_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="owned_actions", verbose_name="owner organisation"
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_actions",
        verbose_name="accountable lead",
    )
    partners = models.ManyToManyField(Organisation, related_name="partner_actions", blank=True)
    status = models.CharField(max_length=12, choices=ActionStatus.choices, default=ActionStatus.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Per cent complete, 0 to 100."
    )
    start_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    weight = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="How much this action counts towards its key step's and plan's progress (1 to 100).",
    )
    dependencies = models.ManyToManyField(
        "self", symmetrical=False, related_name="dependents", blank=True, verbose_name="depends on"
    )
    indicators = models.ManyToManyField(
        Indicator, through="ActionIndicator", related_name="actions", blank=True, verbose_name="linked indicators"
    )
    evidence = models.ManyToManyField(EvidenceItem, related_name="actions", blank=True, verbose_name="evidence cited")
    # Issue 23: set when the action was merged into another as duplicated work (actionplan.duplicates);
    # a retired action keeps its row so a split can restore it, and lists leave it out.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="created_actions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key_step__number", "due_date", "id"]
        constraints = [
            models.CheckConstraint(
                name="action_progress_0_to_100", condition=models.Q(progress__gte=0, progress__lte=100)
            ),
            models.CheckConstraint(name="action_weight_positive", condition=models.Q(weight__gte=1)),
            models.CheckConstraint(
                name="action_due_after_start",
                condition=models.Q(start_date__isnull=True)
                | models.Q(due_date__isnull=True)
                | models.Q(due_date__gte=models.F("start_date")),
            ),
            models.CheckConstraint(
                name="action_done_is_complete",
                condition=~models.Q(status="done") | models.Q(progress=100),
            ),
        ]
        indexes = [
            models.Index(fields=["plan", "key_step"], name="action_plan_step"),
            models.Index(fields=["owner_organisation", "due_date"], name="action_owner_due"),
            models.Index(fields=["lead", "due_date"], name="action_lead_due"),
            # Trigram index on titles (pg_trgm): similarity lookups of one action's title against all
            # (the candidate query itself blocks on shared words instead: actionplan.duplicates.selectors).
            GinIndex(fields=["title"], opclasses=["gin_trgm_ops"], name="action_title_trgm"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("action_detail", args=[self.plan.slug, self.pk])

    def clean(self) -> None:
        errors = {}
        if self.start_date and self.due_date and self.due_date < self.start_date:
            errors["due_date"] = "The due date must be on or after the start date."
        if self.status == ActionStatus.DONE and self.progress != 100:
            errors["progress"] = "A done action is 100% complete."
        if errors:
            raise ValidationError(errors)

    def is_overdue(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return bool(self.due_date and self.due_date < today and self.status != ActionStatus.DONE)

    @property
    def is_retired(self) -> bool:
        """Merged into another action (issue 23): kept for history and a split, left out of lists."""
        return self.merged_into_id is not None

    @property
    def needs_attention(self) -> bool:
        return self.status in (ActionStatus.AT_RISK, ActionStatus.OFF_TRACK) or self.is_overdue()


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ActionCoOwner(models.Model):
    """Another organisation accountable for a share of an action, beside its owner organisation.

    Issue 23: work two partners both do is one action with co-owners, each answerable for
    the share it states, not two actions that duplicate each other.
    """

    # How history names a row: organisation (kernel.history), not the row's id.
    history_name_field = "organisation"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="co_owners")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="co_owned_actions")
    share = models.CharField(
        "its share",
        max_length=300,
        help_text="What this organisation is accountable for in the action, in a sentence.",
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["action", "organisation"], name="action_co_owner_once"),
        ]
        verbose_name = "co-owner"

    def __str__(self) -> str:
        return f"{self.organisation}: {self.share}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ActionIndicator(models.Model):
    """An indicator an action aims to move, with an optional target."""

    # How history names a row: indicator (kernel.history), not the row's id.
    history_name_field = "indicator"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="indicator_links")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="action_links")
    target = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    target_note = models.CharField(max_length=200, blank=True, help_text="e.g. 'by March 2027, London-wide'.")

    class Meta:
        ordering = ["indicator__name"]
        constraints = [
            models.UniqueConstraint(fields=["action", "indicator"], name="action_indicator_once"),
        ]
        verbose_name = "linked indicator"

    def __str__(self) -> str:
        return f"{self.indicator} (target {self.target})" if self.target is not None else str(self.indicator)


class ProgressNote(models.Model):
    """A dated note from whoever updated an action's status or progress: why it changed."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="progress_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=ActionStatus.choices)
    progress = models.PositiveSmallIntegerField()
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text[:60]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Milestone(models.Model):
    """A dated step towards an action; done when it has a done-on date."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    due = models.DateField("due on", null=True, blank=True)
    done_on = models.DateField("done on", null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_on is not None

    def is_overdue(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return bool(self.due and not self.done_on and self.due < today)
