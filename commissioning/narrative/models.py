"""Quarterly stories told from the data (issue 23, "A new narrative, told from the data").

Each quarter a job drafts a plain-language story for London and for each borough from what the
portal already knows: significant changes in indicators (the trend tests on approved, publicly
shown figures), actions completed, partnership decisions agreed, and "you said, we did"
responses. A commissioner edits the draft and publishes it; an Easy Read version goes with it.
`sources` keeps the facts it was composed from, so the page can say what it is based on.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from kernel.concurrency import Versioned
from outcomes.periods import financial_quarter_label, last_day
from stakeholders.models import Area


class StoryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


@pghistory.track()
class Story(Versioned):
    """One area's story of one financial quarter: drafted from the data, edited and published by people."""

    history_name_field = "title"

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="stories", help_text="London or a borough.")
    quarter_start = models.DateField(help_text="The first day of the financial quarter it tells.")
    status = models.CharField(max_length=10, choices=StoryStatus.choices, default=StoryStatus.DRAFT)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown: headings, lists, links and emphasis.")
    easy_read = models.TextField(
        "Easy Read version", help_text="Short sentences, one idea a line. Each line is shown as its own line."
    )
    sources = models.JSONField(
        default=list, blank=True, help_text="The facts the draft was composed from (shown as “based on”)."
    )
    edited = models.BooleanField(
        default=False, help_text="A person changed the text: a new draft from the data no longer replaces it."
    )
    drafted_at = models.DateTimeField(default=timezone.now, help_text="When the data was last read into it.")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "commissioning"
        verbose_name_plural = "stories"
        ordering = ["-quarter_start", "area__name"]
        constraints = [
            models.UniqueConstraint(fields=["area", "quarter_start"], name="story_once_per_area_quarter"),
            models.CheckConstraint(
                name="story_published_has_date",
                condition=~models.Q(status="published") | models.Q(published_at__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["status", "-published_at"], name="story_by_status_published")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("story_detail", args=[self.pk])

    @property
    def quarter_label(self) -> str:
        """2026-27 Q2."""
        return financial_quarter_label(self.quarter_start)

    @property
    def quarter_end(self) -> dt.date:
        return last_day("quarter", self.quarter_start)

    @property
    def is_published(self) -> bool:
        return self.status == StoryStatus.PUBLISHED

    @property
    def easy_read_lines(self) -> list[str]:
        return [line.strip() for line in self.easy_read.splitlines() if line.strip()]
