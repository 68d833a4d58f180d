from django.contrib import admin

from linli.core.admin import ReadOnlyAdmin

from .models import Device, DeviceCredential, DeviceEvent, PendingBatch, QuarantinedPayload, Vehicle, VisitorPass


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "vendor", "serial", "place_path", "status", "last_seen_at", "enabled", "retired_at")
    list_filter = ("kind", "vendor", "status", "enabled")
    search_fields = ("name", "serial")
    exclude = ("secret_hash",)


@admin.register(DeviceCredential)
class DeviceCredentialAdmin(ReadOnlyAdmin):
    list_display = ("ref_type", "ref", "device", "place_path", "resident_id")
    list_filter = ("ref_type",)


@admin.register(Vehicle)
class VehicleAdmin(ReadOnlyAdmin):
    list_display = ("plate", "place_path", "owner_id", "active")
    search_fields = ("plate",)


@admin.register(VisitorPass)
class VisitorPassAdmin(ReadOnlyAdmin):
    list_display = ("code", "place_path", "plate", "valid_from", "valid_until", "revoked_at")
    search_fields = ("code", "plate")


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "kind", "device_id", "place_path", "subject_kind", "resident_id", "vehicle_id")
    list_filter = ("kind",)
    show_full_result_count = False  # the table grows by millions: no COUNT(*) on every page


@admin.register(QuarantinedPayload)
class QuarantinedPayloadAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "reason_code", "source", "device_id", "device_ref", "size", "status")
    list_filter = ("reason_code", "source", "status")
    exclude = ("payload",)


@admin.register(PendingBatch)
class PendingBatchAdmin(ReadOnlyAdmin):
    list_display = ("pk", "created_at", "attempts")
