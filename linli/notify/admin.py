from django.contrib import admin

from linli.core.admin import ReadOnlyAdmin

from .models import DeliveryAttempt, Message


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "channel", "started_at", "finished_at", "outcome", "error", "provider_id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """Masked addresses only; re-queueing is the audited API action, not an admin edit."""

    list_display = ("id", "template", "channel", "address_mask", "status", "attempts", "next_attempt_at", "created_at")
    list_filter = ("status", "channel", "template")
    search_fields = ("cause_type", "cause_id", "template")
    exclude = ("address", "lease_token")
    inlines = [DeliveryAttemptInline]
