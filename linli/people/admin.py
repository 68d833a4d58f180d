from django.contrib import admin

from linli.core.admin import ReadOnlyAdmin

from .models import CareTag, ImportJob, Resident


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    """Masked values only: the admin is no way around the audited full view."""

    list_display = ("name", "sex", "birth_date", "id_mask", "phone_mask", "status", "place_path")
    list_filter = ("status", "sex")
    search_fields = ("name",)
    exclude = ("id_number", "phone")
    readonly_fields = ("id_mask", "phone_mask")


@admin.register(CareTag)
class CareTagAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "name_en", "parent", "has_grade", "active")


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("id", "original_name", "status", "total_rows", "valid_rows", "error_rows", "created_at")
    list_filter = ("status",)
