from django.contrib import admin

from linli.core.admin import ReadOnlyAdmin

from .models import Alert, AlertEvent, Rule


@admin.register(Rule)
class RuleAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "place_path", "severity", "enabled")
    list_filter = ("severity", "enabled")
    search_fields = ("code", "name")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("title", "kind", "severity", "status", "count", "first_seen_at", "last_seen_at", "place_path")
    list_filter = ("status", "severity", "kind")


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "alert", "kind", "actor_label", "note")
    list_filter = ("kind",)
