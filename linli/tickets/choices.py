"""Choices of the tickets app: kinds, statuses, channels, dispatch modes, organisation kinds, photo stages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TicketKind(models.TextChoices):
    REPAIR = "repair", _("报修")
    COMPLAINT = "complaint", _("投诉")
    CONSULTATION = "consultation", _("咨询")
    SUGGESTION = "suggestion", _("建议")
    PRAISE = "praise", _("表扬")


class TicketStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    REJECTED = "rejected", _("不予受理")
    WITHDRAWN = "withdrawn", _("已撤回")
    DISPATCHED = "dispatched", _("已派单")
    IN_PROGRESS = "in_progress", _("处理中")
    PAUSED = "paused", _("已挂起")
    RESOLVED = "resolved", _("已办结待确认")
    CLOSED = "closed", _("已关闭")
    REOPENED = "reopened", _("已重新打开")


class Channel(models.TextChoices):
    APP = "app", _("手机应用")
    PHONE = "phone", _("电话")
    MESSAGE_BOARD = "message_board", _("留言板")
    WALK_IN = "walk_in", _("来访")
    GRID_PATROL = "grid_patrol", _("网格巡查")
    HOTLINE = "hotline", _("12345热线")
    ALERT = "alert", _("设备告警")


class DispatchMode(models.TextChoices):
    ASSIGN = "assign", _("派单")
    GRAB = "grab", _("抢单")
    ROUND_ROBIN = "round_robin", _("轮派")


class OrganisationKind(models.TextChoices):
    PROPERTY_COMPANY = "property_company", _("物业公司")
    COMMUNITY_COMMITTEE = "community_committee", _("社区居委会")
    STREET_OFFICE = "street_office", _("街道办事处")


class PhotoStage(models.TextChoices):
    REPORT = "report", _("报事照片")
    RESOLVE = "resolve", _("办结照片")


class EventKind(models.TextChoices):
    TRANSITION = "transition", _("状态变更")
    COMMENT = "comment", _("留言")
    PHOTO = "photo", _("照片")
    RATING = "rating", _("评价")
    REMINDER = "reminder", _("时限提醒")
    OVERDUE = "overdue", _("超时")
    ESCALATION = "escalation", _("升级督办")
    RETURN_VISIT = "return_visit", _("回访")


class Deadline(models.TextChoices):
    RESPONSE = "response", _("响应时限")
    RESOLUTION = "resolution", _("办结时限")


class ReturnVisitStatus(models.TextChoices):
    PENDING = "pending", _("待回访")
    DONE = "done", _("已回访")


class ReturnVisitOutcome(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    UNSATISFIED = "unsatisfied", _("不满意")
    UNREACHABLE = "unreachable", _("联系不上")
