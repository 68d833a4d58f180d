from django.contrib import admin

from linli.core.admin import ReadOnlyAdmin

from .models import Category, Membership, Organisation, Rating, ReturnVisit, Ticket, TicketEvent, TicketPhoto


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ("name", "code", "place_path", "response_minutes", "resolution_hours", "dispatch_mode",
                    "organisation_kind", "return_visit", "active")
    list_filter = ("dispatch_mode", "organisation_kind", "active")


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "place", "place_path", "active")
    list_filter = ("kind", "active")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "user", "active", "last_assigned_at")


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "kind", "category", "status", "organisation", "assignee", "created_at",
                    "response_overdue", "resolution_overdue")
    list_filter = ("status", "kind", "channel", "response_overdue", "resolution_overdue")
    search_fields = ("title", "description")
    date_hierarchy = "created_at"


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "ticket", "kind", "action", "from_status", "to_status", "actor_label")
    list_filter = ("kind",)


@admin.register(TicketPhoto)
class TicketPhotoAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "stage", "width", "height", "size", "created_at")


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "overall", "speed", "attitude", "created_at")


@admin.register(ReturnVisit)
class ReturnVisitAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "round", "organisation", "status", "due_at", "outcome", "completed_at")
    list_filter = ("status", "outcome")
