"""Admin views for support staff: read and correct commissioning records (the portal pages are the main tool)."""

from __future__ import annotations

from django.contrib import admin

from commissioning.models import (
    Contract,
    ContractMeasure,
    ContractProvider,
    Decision,
    Meeting,
    Partnership,
    PartnershipMember,
    Stance,
)


class PartnershipMemberInline(admin.TabularInline):
    model = PartnershipMember
    extra = 0
    autocomplete_fields = ["organisation"]


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = ["name", "scope"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PartnershipMemberInline]


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    # Read-only here: decisions are proposed and decided through the portal (commissioning.decisions).
    fk_name = "meeting"
    fields = readonly_fields = ["title", "status", "owner", "due_date"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["title", "partnership", "date"]
    list_filter = ["partnership"]
    inlines = [DecisionInline]
    filter_horizontal = ["attendees"]


class StanceInline(admin.TabularInline):
    model = Stance
    extra = 0
    raw_id_fields = ["organisation", "user"]


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["title", "partnership", "status", "owner", "due_date"]
    list_filter = ["status", "partnership"]
    raw_id_fields = ["meeting", "owner", "proposed_by", "actions"]
    inlines = [StanceInline]


class ContractProviderInline(admin.TabularInline):
    model = ContractProvider
    extra = 0
    autocomplete_fields = ["organisation"]


class ContractMeasureInline(admin.TabularInline):
    model = ContractMeasure
    extra = 0
    readonly_fields = ["version"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "title",
        "form",
        "annual_value_pence",
        "start_date",
        "end_date",
        "agreed",
        "publishable",
    ]
    list_filter = ["form", "agreed", "publishable"]
    search_fields = ["reference", "title"]
    readonly_fields = ["version"]
    raw_id_fields = ["commissioner_organisation", "commissioner_partnership"]
    filter_horizontal = ["boroughs"]
    inlines = [ContractProviderInline, ContractMeasureInline]
