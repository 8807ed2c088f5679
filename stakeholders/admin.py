from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from guardian.admin import GuardedModelAdmin

from stakeholders.forms import StaffSignInForm
from stakeholders.models import ApiToken, Area, Invitation, Membership, Organisation, PolicyPage, User

# The admin's sign-in must count failures against the account, as the portal's does.
admin.site.login_form = StaffSignInForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "lived_experience", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active", "lived_experience"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "lived_experience", "show_lived_experience", "terms_accepted_at"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "display_name", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "organisation"
    extra = 0
    raw_id_fields = ["user", "created_by"]


@admin.register(Organisation)
class OrganisationAdmin(GuardedModelAdmin):
    list_display = ["name", "type", "updated_at"]
    list_filter = ["type"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["boroughs"]
    inlines = [MembershipInline]
    readonly_fields = ["group"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            # Every organisation carries its own permissions group.
            from django.contrib.auth.models import Group

            obj.group = Group.objects.create(name=f"organisation:{obj.slug}")
        super().save_model(request, obj, form, change)


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "level", "parent", "population"]
    list_filter = ["level", "parent"]
    search_fields = ["name", "code"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organisation", "role", "status", "created_at", "sent_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "organisation__name"]
    raw_id_fields = ["invited_by", "accepted_by"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "token_key", "created", "expiry", "last_used_at"]
    search_fields = ["name", "user__email"]
    readonly_fields = ["digest", "token_key", "user", "created"]


@admin.register(PolicyPage)
class PolicyPageAdmin(admin.ModelAdmin):
    """Staff keep the privacy notice, terms and guidelines true; pghistory keeps every version."""

    list_display = ["title", "slug", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # the three pages exist from migration 0005; their addresses are linked from sign-up

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
