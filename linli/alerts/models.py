"""Rules (what turns device events into alerts, per place subtree), alerts and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.models import PlaceScoped

from .choices import ACTIVE, AlertStatus, HistoryKind, Severity, SubjectKind


class Rule(PlaceScoped):
    """A rule applies to events under its place (``place_path`` prefix); a rule without a place applies everywhere.
    Rules share a ``code`` (the alert kind they raise): the one nearest to the event's place wins, so a community
    overrides a shipped default by adding a rule of the same code at its place."""

    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    place_path = models.CharField(max_length=255, blank=True, db_index=True)
    code = models.SlugField(max_length=40)
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(max_length=80, blank=True)
    event_kinds = models.JSONField(default=list)
    min_score = models.FloatField(null=True, blank=True)
    zones = models.JSONField(default=list, blank=True)
    min_stationary_seconds = models.PositiveIntegerField(null=True, blank=True)
    repeat_count = models.PositiveSmallIntegerField(default=1)
    repeat_minutes = models.PositiveIntegerField(null=True, blank=True)
    time_from = models.TimeField(null=True, blank=True)
    time_until = models.TimeField(null=True, blank=True)
    weekdays = models.JSONField(default=list, blank=True, help_text="0 = Monday; empty: every day")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MAJOR)
    route_roles = models.JSONField(default=list, blank=True)
    route_users = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    escalation = models.JSONField(default=list, blank=True, help_text='[{"after_minutes": 10, "to_role": "..."}]')
    auto_resolve_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolve_kinds = models.JSONField(default=list, blank=True, help_text="event kinds that resolve the alert")
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("告警规则")
        verbose_name_plural = _("告警规则")
        ordering = ["place_path", "code"]
        constraints = [models.UniqueConstraint(fields=["place_path", "code"], name="alert_rule_unique_code")]

    def __str__(self) -> str:
        return self.name


class Alert(PlaceScoped):
    """One alert, unique per (kind, source, subject) while open or acknowledged: repeats count on it."""

    kind = models.CharField(max_length=40)
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=80)
    device = models.ForeignKey("devices.Device", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source_key = models.CharField(max_length=40, blank=True, help_text="d<device id>, or empty")
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices, default=SubjectKind.NONE)
    subject_ref = models.CharField(max_length=64, blank=True)
    subject_key = models.CharField(max_length=80, blank=True, help_text="r<resident id>, p<plate>, or empty")
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=14, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    last_event_id = models.BigIntegerField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalate_at = models.DateTimeField(null=True, blank=True)
    auto_resolve_at = models.DateTimeField(null=True, blank=True)
    recipient_ids = models.JSONField(default=list, blank=True, help_text="users told of the alert so far")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attrs = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("告警")
        verbose_name_plural = _("告警")
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_key", "subject_key"], condition=Q(status__in=ACTIVE),
                                    name="alert_unique_while_active"),
        ]
        indexes = [
            models.Index(fields=["status", "escalate_at"], name="alert_escalate_due"),
            models.Index(fields=["status", "auto_resolve_at"], name="alert_resolve_due"),
        ]

    def __str__(self) -> str:
        return f"{self.title} #{self.pk}"


class AlertEvent(models.Model):
    """The history of an alert: each change, repeat and comment, never edited."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=16, choices=HistoryKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["alert", "at"], name="alert_history_time")]
