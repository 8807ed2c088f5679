"""Reporting schedules: a commissioner's expectation of a provider's returns, and the reminders sent.

A schedule names a provider organisation, the indicators (one period type) and boroughs it
is expected to report, from which period, and a deadline in days after each period ends.
Every (indicator, borough, period) of a schedule whose deadline has passed is an *expected
cell*; ``selectors.completeness`` counts the cells received and received on time.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from kernel.concurrency import Versioned
from outcomes.models import Indicator, PeriodType, period_label
from outcomes.periods import last_day
from stakeholders.models import Area, AreaLevel, Organisation


@pghistory.track()
class ReportingSchedule(Versioned):
    """What one provider organisation is expected to submit, set by a commissioning organisation."""

    name = models.CharField("name of the return", max_length=200, help_text="For example, Crisis care monthly return.")
    provider = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="reporting_schedules", verbose_name="provider"
    )
    commissioner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="set_reporting_schedules",
        verbose_name="commissioning organisation",
    )
    period_type = models.CharField("reported every", max_length=8, choices=PeriodType.choices)
    indicators = models.ManyToManyField(Indicator, through="ScheduleIndicator", related_name="reporting_schedules")
    boroughs = models.ManyToManyField(
        Area, through="ScheduleBorough", related_name="reporting_schedules", verbose_name="boroughs"
    )
    first_period = models.DateField(help_text="The first day of the first period expected.")
    deadline_days = models.PositiveSmallIntegerField(
        "deadline (days after a period ends)",
        default=20,
        validators=[MinValueValidator(0), MaxValueValidator(366)],
    )
    reminder_days = models.PositiveSmallIntegerField(
        "reminder (days before the deadline)",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    is_active = models.BooleanField("in use", default=True, help_text="Untick to stop expecting returns.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider__name", "name"]
        verbose_name = "reporting schedule"
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="schedule_name_once_per_provider"),
            models.CheckConstraint(
                name="schedule_first_period_is_a_first_day", condition=models.Q(first_period__day=1)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"

    def get_absolute_url(self) -> str:
        return reverse("schedule_detail", args=[self.pk])

    @property
    def first_period_label(self) -> str:
        return period_label(self.period_type, self.first_period)

    def deadline(self, start: dt.date) -> dt.date:
        """The last day a return for the period starting `start` is on time."""
        return last_day(self.period_type, start) + dt.timedelta(days=self.deadline_days)


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class ScheduleIndicator(models.Model):
    schedule = models.ForeignKey(ReportingSchedule, on_delete=models.CASCADE, related_name="indicator_links")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["schedule", "indicator"], name="schedule_indicator_once")]

    def __str__(self) -> str:
        return f"{self.schedule_id}: indicator {self.indicator_id}"


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class ScheduleBorough(models.Model):
    schedule = models.ForeignKey(ReportingSchedule, on_delete=models.CASCADE, related_name="borough_links")
    borough = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", limit_choices_to={"level": AreaLevel.BOROUGH}
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["schedule", "borough"], name="schedule_borough_once")]

    def __str__(self) -> str:
        return f"{self.schedule_id}: borough {self.borough_id}"


class ReminderKind(models.TextChoices):
    DUE = "due", "Due soon"
    OVERDUE = "overdue", "Overdue"


class ScheduleReminder(models.Model):
    """A reminder (or overdue notice) sent for one schedule and period: at most one of each kind.

    The unique constraint is what makes the beat job send once per (provider, indicator
    set, period, kind): the row is written in the same transaction as the notifications.
    """

    schedule = models.ForeignKey(ReportingSchedule, on_delete=models.CASCADE, related_name="reminders")
    period_start = models.DateField()
    kind = models.CharField(max_length=8, choices=ReminderKind.choices)
    missing = models.PositiveIntegerField(help_text="Expected values not received when it was sent.")
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "period_start", "kind"], name="schedule_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder for schedule {self.schedule_id}, {self.period_start}"

    @property
    def period(self) -> str:
        return period_label(self.schedule.period_type, self.period_start)
