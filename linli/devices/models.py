"""Devices and what they report: the registry, credentials that name residents on devices, vehicles, visitor
passes, the stored events (passages among them), each resident's last sighting and the quarantine list."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.models import PlaceScoped

from .choices import CredentialType, DeviceKind, DeviceStatus, QuarantineStatus, Source, Vendor

DEFAULT_OFFLINE_AFTER = 10  # minutes without any sign of life before a device counts as offline


class Device(PlaceScoped):
    """A device installed at a place. ``serial`` is how the device names itself (a serial number, a Hikvision MAC
    address, a Frigate camera name); ``secret_hash`` is the SHA-256 of its secret, which is shown once."""

    kind = models.CharField(_("类型"), max_length=20, choices=DeviceKind.choices)
    vendor = models.CharField(_("厂商"), max_length=12, choices=Vendor.choices)
    serial = models.CharField(_("序列号"), max_length=64)
    name = models.CharField(_("名称"), max_length=100)
    longitude = models.FloatField(_("经度 (WGS-84)"), null=True, blank=True)
    latitude = models.FloatField(_("纬度 (WGS-84)"), null=True, blank=True)
    attrs = models.JSONField(default=dict, blank=True)
    wearer = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("佩戴人"))
    gateway = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                                verbose_name=_("所属网关"))
    secret_hash = models.CharField(max_length=64, editable=False)
    secret_rotated_at = models.DateTimeField(editable=False)
    status = models.CharField(_("状态"), max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.UNKNOWN)
    offline_after = models.PositiveIntegerField(_("离线判定（分钟）"), default=DEFAULT_OFFLINE_AFTER)
    last_seen_at = models.DateTimeField(_("最近在线"), null=True, blank=True)
    stale_at = models.DateTimeField(null=True, blank=True, editable=False,
                                    help_text="last_seen_at + offline_after: offline from then on without news")
    last_event_at = models.DateTimeField(_("最近事件"), null=True, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("设备")
        verbose_name_plural = _("设备")
        ordering = ["place_path", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "serial"], condition=Q(retired_at__isnull=True),
                                    name="device_unique_active_serial"),
        ]
        indexes = [models.Index(fields=["status", "stale_at"], name="device_stale")]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial})"


class DeviceCredential(PlaceScoped):
    """A resident as a device knows them: an employee number, card number or face-library id, on one device or on
    every device under a place (a card that opens every door of an estate)."""

    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials")
    ref_type = models.CharField(_("凭证类型"), max_length=16, choices=CredentialType.choices)
    ref = models.CharField(_("凭证号"), max_length=64)
    resident = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("居民"))
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("设备凭证")
        verbose_name_plural = _("设备凭证")
        ordering = ["place_path", "ref_type", "ref"]
        constraints = [
            models.UniqueConstraint(fields=["device", "ref_type", "ref"], condition=Q(device__isnull=False),
                                    name="credential_unique_on_device"),
            models.UniqueConstraint(fields=["place", "ref_type", "ref"], condition=Q(device__isnull=True),
                                    name="credential_unique_on_place"),
        ]
        indexes = [models.Index(fields=["ref", "ref_type"], name="credential_ref")]


class Vehicle(PlaceScoped):
    """A vehicle registered at a place (usually its owner's estate or home), found again by its normalised plate."""

    plate = models.CharField(_("车牌号"), max_length=16)
    owner = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("车主"))
    plate_color = models.CharField(_("车牌颜色"), max_length=16, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("车辆")
        verbose_name_plural = _("车辆")
        ordering = ["place_path", "plate"]
        constraints = [
            models.UniqueConstraint(fields=["place", "plate"], condition=Q(active=True), name="vehicle_unique_plate"),
        ]
        indexes = [models.Index(fields=["plate"], name="vehicle_plate")]

    def __str__(self) -> str:
        return self.plate


class VisitorPass(PlaceScoped):
    """A visitor let in from ``valid_from`` to ``valid_until`` by a pass code or a car's plate."""

    name = models.CharField(_("访客姓名"), max_length=60)
    host = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("被访居民"))
    plate = models.CharField(_("车牌号"), max_length=16, blank=True)
    code = models.CharField(_("访客码"), max_length=32, unique=True)
    valid_from = models.DateTimeField(_("生效时间"))
    valid_until = models.DateTimeField(_("失效时间"))
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("访客通行证")
        verbose_name_plural = _("访客通行证")
        ordering = ["-valid_from", "-id"]
        indexes = [models.Index(fields=["plate", "valid_until"], name="visitor_pass_plate")]

    def __str__(self) -> str:
        return f"{self.name} {self.code}"


class DeviceEvent(models.Model):
    """One normalised device event, written in batches by linli.devices.storage and never edited afterwards.

    ``external_id`` is the idempotency key: (device, external_id) is unique, so a resend stores nothing.
    ``place_path`` is the device's place when the event arrived. Passages carry the resident, vehicle or visitor
    pass their subject resolved to (nullable: an unknown card is still a passage).

    Its foreign keys have no database constraint (``db_constraint=False``): a constraint is checked row by row when
    the batch commits, a query per key per event, about a fifth of PostgreSQL's cost of storing an event. Ingest
    writes only ids it has just read in the same transaction, and the ORM still applies ``on_delete`` (a device
    with events cannot be deleted; a deleted resident, vehicle or visitor pass leaves NULL), so what the
    constraints guarded is kept; only a raw SQL delete of a referenced row could leave a dangling id."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="events", db_index=False,
                               db_constraint=False)
    place_path = models.CharField(max_length=255)
    kind = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    occurred_at_raw = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField()
    external_id = models.CharField(max_length=255)
    subject_kind = models.CharField(max_length=10, default="none")
    subject_ref = models.CharField(max_length=64, blank=True)
    subject_ref_type = models.CharField(max_length=16, blank=True)
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", db_index=False, db_constraint=False)
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                db_index=False, db_constraint=False)
    visitor = models.ForeignKey(VisitorPass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                db_index=False, db_constraint=False)
    score = models.FloatField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=16, blank=True)
    zone = models.CharField(max_length=64, blank=True)
    direction = models.CharField(max_length=8, default="unknown")
    state = models.CharField(max_length=8, default="pulse")
    attrs = models.JSONField(default=dict, blank=True)
    media = models.JSONField(default=list, blank=True)
    raw = models.TextField(blank=True)

    class Meta:
        verbose_name = _("设备事件")
        verbose_name_plural = _("设备事件")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "external_id"], name="device_event_unique_key"),
        ]
        indexes = [
            models.Index(fields=["device", "occurred_at"], name="device_event_device_time"),
            models.Index(fields=["occurred_at"], name="device_event_time"),
            models.Index(fields=["resident", "occurred_at"], condition=Q(resident__isnull=False),
                         name="device_event_resident_time"),
            models.Index(fields=["subject_ref", "occurred_at"], condition=Q(subject_kind="plate"),
                         name="device_event_plate_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class PersonPresence(models.Model):
    """When and where a resident last passed a door or gate. Only ever moves forward in time (a late event that
    arrives after a newer one changes nothing)."""

    resident = models.OneToOneField("people.Resident", primary_key=True, on_delete=models.CASCADE,
                                    related_name="presence")
    last_seen_at = models.DateTimeField(_("最近通行"))
    # No database constraints: every batch moves hundreds of these forward, and PostgreSQL checks each new value at
    # commit, one query per row and key. For last_event that query ran against the events table (the largest,
    # fastest-growing one) with a plan cached by the connection while that table was small: a sequential scan per
    # row once it has grown (seconds per batch, measured). The pipeline writes only ids of events and devices it
    # has just read; deleting events or devices still clears them (on_delete, in Django).
    last_event = models.ForeignKey(DeviceEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   db_index=False, db_constraint=False)
    last_device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    db_index=False, db_constraint=False)
    last_place_path = models.CharField(max_length=255, blank=True, help_text="the device's place path at the time")
    last_kind = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("最近通行")
        verbose_name_plural = _("最近通行")


class QuarantinedPayload(models.Model):
    """A payload, or one event of a batch, that could not become an event, kept with the reason for operators.

    Authentication failures are noted here too (rate-limited, without the body). ``payload`` holds the bytes as
    received, cut to ``ingest.QUARANTINE_MAX_BYTES`` (``truncated`` says so)."""

    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    place_path = models.CharField(max_length=255, blank=True, db_index=True)
    received_at = models.DateTimeField(_("接收时间"), db_index=True)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    device_ref = models.CharField(_("设备标识"), max_length=64, blank=True)
    reason_code = models.CharField(_("原因"), max_length=40, db_index=True)
    message_zh = models.TextField()
    message_en = models.TextField()
    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    payload = models.BinaryField(blank=True, default=b"")
    truncated = models.BooleanField(default=False)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=QuarantineStatus.choices,
                              default=QuarantineStatus.OPEN)
    attempts = models.PositiveSmallIntegerField(default=0)
    reprocessed_at = models.DateTimeField(null=True, blank=True)
    events_stored = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("隔离报文")
        verbose_name_plural = _("隔离报文")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["device", "reason_code", "received_at"], name="quarantine_device_reason")]

    @property
    def reprocessable(self) -> bool:
        """Whether the payload can be parsed again: it has a sending device and its bytes. A refused request kept
        none; a Frigate message names no sender (the row may sit under its Frigate server only to be seen)."""
        return self.source not in (Source.AUTH, Source.FRIGATE) and self.device_id is not None


class PendingBatch(models.Model):
    """Events stored but not yet processed (last-seen times, and rules once they exist). Written in the same
    transaction as the events; the task deletes it when done, the sweeper re-drives what is left behind."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    event_ids = models.JSONField(default=list)  # only in batches without a summary (the summary holds the ids)
    # linli.devices.pipeline.Summary as JSON text, made by ingest from the rows it inserted (empty: read from the
    # events). Text, stored uncompressed on PostgreSQL (migration 0006): parsing it as jsonb, or compressing it, cost
    # the database more per event than the rest of the row.
    summary = models.TextField(default="", blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
