"""Choices of the device registry, the quarantine list and passages."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    FACE_TERMINAL = "face_terminal", _("人脸识别门禁")
    BARRIER_GATE = "barrier_gate", _("道闸 / 车牌识别")
    AI_CAMERA = "ai_camera", _("AI 摄像头")
    NVR = "nvr", _("硬盘录像机")
    SENSOR_GATEWAY = "sensor_gateway", _("传感器网关")
    WRISTBAND = "wristband", _("智能手环")
    GAS_SENSOR = "gas_sensor", _("燃气传感器")
    SMOKE_SENSOR = "smoke_sensor", _("烟雾传感器")


# Devices that report for other devices (a sensor gateway's sensors, an NVR's cameras).
GATEWAY_KINDS = frozenset({DeviceKind.SENSOR_GATEWAY, DeviceKind.NVR})


class Vendor(models.TextChoices):
    GENERIC = "generic", _("通用格式")
    HIKVISION = "hikvision", _("海康威视")
    DAHUA = "dahua", _("大华")
    FRIGATE = "frigate", "Frigate"
    OTHER = "other", _("其他")


class DeviceStatus(models.TextChoices):
    UNKNOWN = "unknown", _("未连接")
    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")


class CredentialType(models.TextChoices):
    """What a device calls a person: the number enrolled on it, an access card, a face-library entry."""

    EMPLOYEE_NO = "employee_no", _("人员编号")
    CARD_NO = "card_no", _("卡号")
    FACE_ID = "face_id", _("人脸库编号")


class QuarantineStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    REPROCESSED = "reprocessed", _("已重新处理")


class Source(models.TextChoices):
    """How a quarantined payload arrived, so that it can be parsed again the same way."""

    GENERIC = "generic", _("通用格式")
    GENERIC_MEMBER = "generic.member", _("通用格式（批次中的一条）")
    HIKVISION = "hikvision", _("海康威视 ISAPI")
    DAHUA = "dahua", _("大华上传")
    DAHUA_MEMBER = "dahua.member", _("大华上传（批次中的一条）")
    AUTH = "auth", _("设备认证")
    FRIGATE = "frigate", _("Frigate（MQTT）")


# The payloads each HTTP endpoint accepts, and the vendors whose devices may use it.
ENDPOINT_VENDORS: dict[str, frozenset[str]] = {
    Source.GENERIC: frozenset({Vendor.GENERIC, Vendor.OTHER}),
    Source.HIKVISION: frozenset({Vendor.HIKVISION}),
    Source.DAHUA: frozenset({Vendor.DAHUA}),
}
