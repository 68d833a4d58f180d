"""Base models shared by every app, and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PlaceScoped(TimeStamped):
    """A row that hangs from a place: scope checks compare ``place_path`` with the actor's paths by prefix."""

    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    place_path = models.CharField(max_length=255, db_index=True)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """Who did what to which row, with the before and after state. Written by actions, never edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    place_path = models.CharField(max_length=255, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(max_length=20, blank=True, help_text="web, api, command, task")

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_type}#{self.target_id}"


class Heartbeat(models.Model):
    """Last sign of life of a background process (the task consumer writes one every minute)."""

    name = models.CharField(max_length=60, unique=True)
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)
