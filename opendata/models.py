"""The published open-data package: one row per rebuild that changed something, with its files.

A `PackageRelease` is one revision of the Frictionless data package of the public figures
(opendata.package): its number, when it was built, a digest of its contents and the list of
what changed since the revision before (indicators added, periods added, figures revised...).
Its files (`PackageFile`: datapackage.json, the CSV resources and the zip of them all) are
stored in the database, so every web process serves the same bytes with the same ETag
without a shared disk. Only the newest revisions keep their files (`KEEP_FILES`); the log
of changes is kept for ever.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

KEEP_FILES = 3  # revisions whose files are kept (the newest is the one served)


class PackageRelease(models.Model):
    number = models.PositiveIntegerField(unique=True, help_text="Revision number, from 1.")
    created_at = models.DateTimeField(default=timezone.now)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the package's data (not of its dates).")
    changes = models.JSONField(default=list, help_text="What changed since the revision before, one entry a change.")
    counts = models.JSONField(default=dict, help_text="Rows per resource.")
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for it; empty when the system rebuilt it after the figures changed.",
    )

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"Open data revision {self.number} ({self.created_at:%d %b %Y %H:%M})"

    @property
    def version(self) -> str:
        """The package's version: 1 is the layout (schema) of the package, then the revision."""
        return f"1.{self.number}.0"


class PackageFile(models.Model):
    release = models.ForeignKey(PackageRelease, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=100)
    media_type = models.CharField(max_length=100)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["release", "name"]
        constraints = [models.UniqueConstraint(fields=["release", "name"], name="package_file_once")]

    def __str__(self) -> str:
        return f"{self.name} of revision {self.release.number}"

    @property
    def etag(self) -> str:
        return f'"{self.sha256[:32]}"'
