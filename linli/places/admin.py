from django.contrib import admin

from linli.core.admin import ReadOnlyAdmin

from .models import Facility, Grid, Place, PlaceEvent


@admin.register(Place)
class PlaceAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "code", "status", "path", "year_built", "dwelling_count")
    list_filter = ("kind", "status")
    search_fields = ("name", "code", "path")


@admin.register(PlaceEvent)
class PlaceEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "place", "kind", "old_name", "new_name", "old_path", "new_path")
    list_filter = ("kind",)


@admin.register(Grid)
class GridAdmin(ReadOnlyAdmin):
    list_display = ("name", "code", "place", "place_path")


@admin.register(Facility)
class FacilityAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "place", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "address")
