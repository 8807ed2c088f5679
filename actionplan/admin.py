"""Read-mostly admin for support staff. Plans and actions are edited in the portal, where the
version check and the grants apply; the admin shows them read-only."""

from django.contrib import admin

from actionplan.models import Action, EvidenceItem, KeyStep, Milestone, Plan


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(KeyStep)
class KeyStepAdmin(ReadOnlyAdmin):
    list_display = ["number", "title"]


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ["title", "scope", "status", "visibility", "lead_organisation", "version"]
    list_filter = ["status", "scope", "visibility"]
    search_fields = ["title"]


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ["title", "plan", "key_step", "status", "progress", "due_date"]
    list_filter = ["status", "key_step"]
    search_fields = ["title"]
    list_select_related = ["plan", "key_step"]


@admin.register(Milestone)
class MilestoneAdmin(ReadOnlyAdmin):
    list_display = ["title", "action", "due", "done_on"]
    list_select_related = ["action"]


@admin.register(EvidenceItem)
class EvidenceItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "type", "organisation", "published_at"]
    list_filter = ["type"]
    search_fields = ["title"]
