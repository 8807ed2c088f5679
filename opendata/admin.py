"""Admin views for support staff: the open-data revisions and their log, read-only (the task writes them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from opendata.models import PackageRelease


@admin.register(PackageRelease)
class PackageReleaseAdmin(admin.ModelAdmin):
    list_display = ["number", "created_at", "built_by", "counts"]
    readonly_fields = ["number", "created_at", "digest", "changes", "counts", "built_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
