from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    INAPP = "inapp", _("站内信")
    SMS = "sms", _("短信")
    WECOM = "wecom", _("企业微信群")
    EMAIL = "email", _("电子邮件")


class MessageStatus(models.TextChoices):
    """queued -> sending -> sent | failed (waits for its next attempt) | dead (no more attempts)."""

    QUEUED = "queued", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("待重试")
    DEAD = "dead", _("发送失败")


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("成功")
    TEMPORARY = "temporary", _("暂时失败")
    PERMANENT = "permanent", _("永久失败")


class Language(models.TextChoices):
    ZH = "zh-hans", _("简体中文")
    EN = "en", _("English")


# Statuses a delivery may claim (when due); SENDING too once its lease has expired.
CLAIMABLE = (MessageStatus.QUEUED, MessageStatus.FAILED)
