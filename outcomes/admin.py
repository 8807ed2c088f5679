"""Staff keep the list of priority areas here; every save goes through the service and is in
the history (django-pghistory), shown on each area's page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from pghistory.models import Events

from kernel.history import history_entries
from outcomes import permissions, services
from outcomes.models import PriorityArea

HISTORY_SHOWN = 50


@admin.register(PriorityArea)
class PriorityAreaAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "ordering", "is_active"]
    list_editable: list[str] = []
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["indicators"]
    readonly_fields = ["history"]
    fields = ["name", "slug", "description", "ordering", "is_active", "indicators", "history"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_manage_priority_areas(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_manage_priority_areas(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Retire an area (not in use) instead: actions and evidence keep naming it.
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_manage_priority_areas(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_manage_priority_areas(request.user)

    def save_model(self, request: HttpRequest, obj: PriorityArea, form: Any, change: bool) -> None:
        services.priority_area_save(actor=request.user, area=obj, indicators=form.cleaned_data.get("indicators"))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The indicators were set by the service in save_model; there are no inlines."""

    @admin.display(description="History")
    def history(self, obj: PriorityArea) -> str:
        if obj.pk is None:
            return "-"
        events = Events.objects.tracks(obj).order_by("-pgh_created_at", "-pgh_id")[:HISTORY_SHOWN]
        entries = history_entries(events)
        if not entries:
            return "No changes recorded."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} by {}: {} {}</li>",
                (
                    (
                        e.when.strftime("%d %b %Y %H:%M"),
                        e.who,
                        e.verb,
                        "; ".join(f"{c.label}: {c.old} → {c.new}" for c in e.changes),
                    )
                    for e in entries
                ),
            ),
        )
