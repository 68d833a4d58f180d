"""Choices of the alerts app: severities, alert states, history kinds, roles an alert is routed to."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    CRITICAL = "critical", _("紧急")
    MAJOR = "major", _("重要")
    MINOR = "minor", _("次要")
    WARNING = "warning", _("提示")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("待确认")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    RESOLVED = "resolved", _("已解除")
    FALSE_ALARM = "false_alarm", _("误报")


# While an alert is in one of these states, a repeat of its (kind, source, subject) counts on it.
ACTIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class HistoryKind(models.TextChoices):
    OPENED = "opened", _("产生")
    REPEATED = "repeated", _("重复")
    ACKNOWLEDGED = "acknowledged", _("确认")
    ESCALATED = "escalated", _("升级")
    RESOLVED = "resolved", _("解除")
    FALSE_ALARM = "false_alarm", _("误报")
    COMMENT = "comment", _("备注")
    TICKET_CREATED = "ticket_created", _("转工单")


class RouteRole(models.TextChoices):
    """Roles at the event's place an alert goes to (held on the place or above it)."""

    GRID_WORKER = "grid_worker", _("网格员")
    PROPERTY_STAFF = "property_staff", _("物业人员")
    COMMUNITY_STAFF = "community_staff", _("社区工作人员")
    STREET_ADMIN = "street_admin", _("街道管理员")
    DISTRICT_ADMIN = "district_admin", _("区管理员")


class SubjectKind(models.TextChoices):
    RESIDENT = "resident", _("居民")
    PLATE = "plate", _("车牌")
    NONE = "none", _("无")


NOT_SEEN = "care.not_seen"  # the kind of the care monitor's alert (no rule: raised by care.sweep_not_seen)
