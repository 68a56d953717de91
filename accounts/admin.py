from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from .forms import AdminLoginForm
from .models import TrialClaim, User

# The admin's sign-in counts in the one limiter; accounts.views.admin_login answers 429.
admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email",)
    date_hierarchy = "date_joined"

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Deleting many readers from a list page is too easy to do by mistake (their
        # payments and history go with them): one at a time, from the reader's page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(TrialClaim)
class TrialClaimAdmin(admin.ModelAdmin):
    list_display = ("claimed_at", "user", "verified_at", "article_slug")
    list_select_related = ("user",)
    date_hierarchy = "claimed_at"
    search_fields = ("user__email", "article_slug")
    raw_id_fields = ("user", "article")
    readonly_fields = ("identity_hash", "claimed_at", "verified_at")
