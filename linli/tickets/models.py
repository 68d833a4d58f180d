"""Tickets (工单): categories, responsible organisations and their members, tickets with their history, photos,
ratings and return visits. Writes go through ``actions``; reads through ``queries``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.models import PlaceScoped, TimeStamped

from .choices import (
    Channel,
    DispatchMode,
    EventKind,
    OrganisationKind,
    PhotoStage,
    ReturnVisitOutcome,
    ReturnVisitStatus,
    TicketKind,
    TicketStatus,
)


class Category(TimeStamped):
    """What a ticket is about (水电, 公共设施 ...). Global (``place`` empty) or added by staff for their own subtree.

    It decides the deadlines (stored on each ticket at creation), how tickets are dispatched, which kind of
    organisation is responsible, whether a return visit follows the closing and how long a resident may reopen.
    """

    code = models.SlugField(max_length=40)
    name = models.CharField(_("名称"), max_length=40)
    name_en = models.CharField(max_length=60, blank=True)
    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    place_path = models.CharField(max_length=255, blank=True, db_index=True, help_text='"" for a global category')
    response_minutes = models.PositiveIntegerField(_("响应时限（分钟）"), default=60)
    resolution_hours = models.PositiveIntegerField(_("办结时限（小时）"), default=48)
    remind_before_minutes = models.PositiveIntegerField(_("提前提醒（分钟）"), default=30)
    dispatch_mode = models.CharField(_("派单方式"), max_length=12, choices=DispatchMode.choices,
                                     default=DispatchMode.ASSIGN)
    organisation_kind = models.CharField(_("责任机构类型"), max_length=20, choices=OrganisationKind.choices,
                                         default=OrganisationKind.COMMUNITY_COMMITTEE)
    return_visit = models.BooleanField(_("需要回访"), default=False)
    reopen_window_days = models.PositiveSmallIntegerField(_("可重新打开天数"), default=7)
    active = models.BooleanField(default=True)
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("工单类别")
        verbose_name_plural = _("工单类别")
        ordering = ["sort", "id"]
        constraints = [models.UniqueConstraint(fields=["place_path", "code"], name="ticket_category_unique_code")]

    def __str__(self) -> str:
        return self.name


class Organisation(PlaceScoped):
    """A body that handles tickets over a place's subtree: a property company (estate), a community committee
    (community) or a street office (street)."""

    kind = models.CharField(_("类型"), max_length=20, choices=OrganisationKind.choices)
    name = models.CharField(_("名称"), max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["place_path", "kind", "id"]
        constraints = [models.UniqueConstraint(fields=["place", "kind", "name"], name="ticket_org_unique_name")]

    def __str__(self) -> str:
        return self.name


class Membership(TimeStamped):
    """A staff member of an organisation, through the role assignment that lets them handle tickets; that
    assignment's ``on_duty`` says whether round-robin and grab include them. ``last_assigned_at`` orders
    round-robin (oldest first, then id: deterministic)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    assignment = models.ForeignKey("accounts.RoleAssignment", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ticket_memberships")
    active = models.BooleanField(default=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation_id", "id"]
        constraints = [models.UniqueConstraint(fields=["organisation", "user"], condition=Q(active=True),
                                               name="ticket_membership_unique_active")]


class Ticket(PlaceScoped):
    """One request of a resident (or found by a grid worker, the hotline, an alert), followed to the end.

    Deadlines are computed from the category at creation and stored; every stage keeps its time; paused time
    pushes the resolution deadline out. Status changes only through ``actions`` by compare-and-set.
    """

    kind = models.CharField(_("类型"), max_length=16, choices=TicketKind.choices)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="tickets")
    title = models.CharField(_("标题"), max_length=100)
    description = models.TextField(_("描述"))
    longitude = models.FloatField(_("经度 (WGS-84)"), null=True, blank=True)
    latitude = models.FloatField(_("纬度 (WGS-84)"), null=True, blank=True)
    preferred_from = models.DateTimeField(_("期望上门时间起"), null=True, blank=True)
    preferred_until = models.DateTimeField(_("期望上门时间止"), null=True, blank=True)
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices, default=Channel.APP)
    reporter = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="tickets")
    reporter_name = models.CharField(_("反映人"), max_length=60, blank=True, help_text="a caller not in the registry")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="the resident's account or the staff who entered it")
    status = models.CharField(_("状态"), max_length=12, choices=TicketStatus.choices, default=TicketStatus.SUBMITTED)
    version = models.PositiveIntegerField(default=1, help_text="+1 on every status change")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_tickets")
    respond_by = models.DateTimeField(_("响应时限"))
    resolve_by = models.DateTimeField(_("办结时限"))
    respond_remind_at = models.DateTimeField()
    resolve_remind_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0)
    response_seconds = models.PositiveIntegerField(null=True, blank=True)
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="created to resolved, minus pauses")
    response_overdue = models.BooleanField(default=False)
    resolution_overdue = models.BooleanField(default=False)
    respond_reminded_at = models.DateTimeField(null=True, blank=True)
    resolve_reminded_at = models.DateTimeField(null=True, blank=True)
    respond_escalated_at = models.DateTimeField(null=True, blank=True)
    resolve_escalated_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    rating_overall = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False,
        help_text="the overall score (1-5) of the ticket's rating, set with it: the KPIs count without a join")
    status_note = models.CharField(max_length=500, blank=True, help_text="reason of the last rejection, pause ...")
    resolution_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["place_path", "created_at"], name="ticket_scope_created"),
            models.Index(fields=["status", "place_path"], name="ticket_status_scope"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee"),
            models.Index(fields=["status", "respond_remind_at"], name="ticket_respond_due"),
            models.Index(fields=["status", "resolve_remind_at"], name="ticket_resolve_due"),
            models.Index(fields=["reporter", "created_at"], name="ticket_reporter"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        """工单号: the local creation date and the id, e.g. 20260423-000123."""
        created = timezone.localtime(self.created_at) if self.created_at else timezone.localtime()
        return f"{created:%Y%m%d}-{self.pk or 0:06d}"


class KpiMonth(models.Model):
    """The KPI counts of the tickets created in a local month, per community (``area_path``: the ticket's place path
    cut to the community's, or whole for a place above one), category, organisation and kind (the ``COUNTS`` of
    ``kpis``). Kept by PostgreSQL triggers on the tickets table in the same statement as any change of a ticket
    (``kpi_rollup``): never written by Python. The KPIs of whole months read these rows instead of the tickets."""

    month = models.DateField(help_text="the first day of the local month the tickets were created in")
    area_path = models.CharField(max_length=255)
    category_id = models.BigIntegerField()
    organisation_id = models.BigIntegerField()
    kind = models.CharField(max_length=16)
    tickets = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    resolved = models.BigIntegerField(default=0)
    closed = models.BigIntegerField(default=0)
    on_time = models.BigIntegerField(default=0)
    rated = models.BigIntegerField(default=0)
    satisfied = models.BigIntegerField(default=0)
    reopened = models.BigIntegerField(default=0)
    complaints = models.BigIntegerField(default=0)
    complaints_closed = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "area_path", "category_id", "organisation_id", "kind"],
                                               name="ticket_kpi_month_key")]


class KpiRollup(models.Model):
    """The state of the KPI rollup (one row, PostgreSQL): the time zone its months are local to. The KPIs read the
    rollup only while it matches settings.TIME_ZONE (``linli kpi_rollup --rebuild`` after changing the zone)."""

    zone = models.CharField(max_length=64)
    built_at = models.DateTimeField(default=timezone.now)


class TicketEvent(models.Model):
    """The history of a ticket: every transition, comment, photo, reminder, escalation, with actor and note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    action = models.CharField(max_length=24, blank=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["ticket_id", "at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_ticket")]


class TicketPhoto(models.Model):
    """A photo of a ticket, re-encoded as JPEG without EXIF, with a thumbnail; files in default_storage."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(max_length=10, choices=PhotoStage.choices)
    file = models.CharField(max_length=255)
    thumbnail = models.CharField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="bytes of the stored JPEG")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ticket_id", "stage", "id"]


class Rating(models.Model):
    """The resident's rating of a closed ticket: once per ticket."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating")
    overall = models.PositiveSmallIntegerField()
    speed = models.PositiveSmallIntegerField()
    attitude = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(overall__gte=1, overall__lte=5, speed__gte=1, speed__lte=5,
                                               attitude__gte=1, attitude__lte=5), name="ticket_rating_1_to_5"),
        ]


class ReturnVisit(PlaceScoped):
    """回访: a follow-up call after a ticket of a category that needs one was closed (one per closing round)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="return_visits")
    round = models.PositiveSmallIntegerField(default=0, help_text="the ticket's reopen count when it closed")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="return_visits")
    status = models.CharField(max_length=10, choices=ReturnVisitStatus.choices, default=ReturnVisitStatus.PENDING)
    due_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=ReturnVisitOutcome.choices, blank=True)
    note = models.TextField(blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["ticket", "round"], name="ticket_return_visit_unique_round")]
