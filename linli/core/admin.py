"""Django admin is a read-only window for operators: every write goes through actions (ARCHITECTURE §1.2)."""

from __future__ import annotations

from django.contrib import admin

from .models import AuditEntry, Heartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "target_type", "target_id", "place_path", "via", "ip")
    list_filter = ("action", "via")
    search_fields = ("actor_label", "target_label", "target_id", "request_id")
    date_hierarchy = "at"


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "at")
