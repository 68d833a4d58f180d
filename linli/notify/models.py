"""The outbox (Message), its delivery attempts, recipients' preferences and the in-app inbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.fields import EncryptedTextField

from .choices import AttemptOutcome, Channel, Language, MessageStatus


class Message(models.Model):
    """One outgoing message on one channel: written in the same transaction as its cause, then delivered by id.

    The recipient is a user, or a raw ``address`` (phone, e-mail, WeCom webhook URL) stored encrypted and shown
    masked. ``dedupe_key`` is unique: the same cause never sends the same message twice.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="notify_messages")
    address = EncryptedTextField(_("地址"), blank=True, default="")
    address_mask = models.CharField(max_length=80, blank=True)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    template = models.CharField(_("模板"), max_length=80)
    context = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10, choices=Language.choices, default=Language.ZH)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="attempts since it was (re)queued")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="a worker holds it while sending until then")
    lease_token = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=120, blank=True)
    cause_type = models.CharField(max_length=60, blank=True, help_text="app_label.model of the cause")
    cause_id = models.CharField(max_length=64, blank=True)
    place_path = models.CharField(max_length=255, blank=True, db_index=True)
    dedupe_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    fallback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="fallbacks")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notify_msg_due"),
            models.Index(fields=["status", "lease_until"], name="notify_msg_lease"),
            models.Index(fields=["cause_type", "cause_id"], name="notify_msg_cause"),
            models.Index(fields=["recipient", "channel"], name="notify_msg_recipient"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.template} {self.channel} {self.status}"


class DeliveryAttempt(models.Model):
    """One try to hand a message to its channel's provider, with what came back."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["message_id", "number"]
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="notify_attempt_unique_number")]


class NotificationPreference(models.Model):
    """A user's choice for one channel, for one template or (template "") for all of them.

    ``enabled`` False mutes the channel; True opts in to a channel the template does not use by default.
    Quiet hours (local time, may wrap midnight) defer non-urgent messages on that channel until they end.
    The most specific row wins: a template's own row over the "" row.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preferences")
    template = models.CharField(max_length=80, blank=True, help_text='template key, or "" for every template')
    channel = models.CharField(max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(default=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id", "template", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["user", "template", "channel"], name="notify_pref_unique"),
            models.CheckConstraint(
                condition=models.Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | models.Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="notify_pref_quiet_both_or_none",
            ),
        ]


class InboxItem(models.Model):
    """A message delivered on the in-app channel: what the recipient reads in their inbox."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="inbox_item")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_inbox")
    template = models.CharField(max_length=80)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    place_path = models.CharField(max_length=255, blank=True)
    cause_type = models.CharField(max_length=60, blank=True)
    cause_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notify_inbox_unread")]
