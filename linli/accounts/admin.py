from django.contrib import admin

from linli.core.admin import ReadOnlyAdmin

from .models import ApiToken, RoleAssignment


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("user", "role", "place", "place_path", "active", "on_duty")
    list_filter = ("role", "active")
    search_fields = ("user__username", "place_path")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
