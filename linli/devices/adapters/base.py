"""The shape every device adapter produces: one NormalizedEvent per vendor event, or a Quarantine saying why not.

Adapters are pure functions of the payload bytes (plus the site time zone and, for payloads without a time, the
time the payload was received). They never touch the database, the network or the clock of their own accord.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, TypeVar


class EventKind(enum.StrEnum):
    """What happened, in Linli's words. Vendor codes are mapped onto these through tables in each adapter."""

    PASSAGE_FACE = "passage.face"
    PASSAGE_CARD = "passage.card"
    PASSAGE_QR = "passage.qr"
    PASSAGE_PASSWORD = "passage.password"
    PASSAGE_FINGERPRINT = "passage.fingerprint"
    PASSAGE_REMOTE = "passage.remote"
    PASSAGE_DENIED = "passage.denied"
    PASSAGE_PLATE = "passage.plate"
    CAMERA_INTRUSION = "camera.intrusion"
    CAMERA_LINE_CROSSING = "camera.line_crossing"
    CAMERA_REGION_ENTRANCE = "camera.region_entrance"
    CAMERA_REGION_EXIT = "camera.region_exit"
    CAMERA_LOITERING = "camera.loitering"
    CAMERA_ILLEGAL_PARKING = "camera.illegal_parking"
    CAMERA_FIRE_LANE = "camera.fire_lane"
    CAMERA_SMOKE_FIRE = "camera.smoke_fire"
    CAMERA_THROWN_OBJECT = "camera.thrown_object"
    CAMERA_BIN_OVERFLOW = "camera.bin_overflow"
    CAMERA_UNATTENDED_OBJECT = "camera.unattended_object"
    CAMERA_TAMPER = "camera.tamper"
    CAMERA_VIDEO_LOSS = "camera.video_loss"
    CAMERA_MOTION = "camera.motion"
    CAMERA_FACE = "camera.face"
    CAMERA_OBJECT = "camera.object"
    SENSOR_GAS = "sensor.gas"
    SENSOR_SMOKE = "sensor.smoke"
    SENSOR_ALARM_INPUT = "sensor.alarm_input"
    WRISTBAND_SOS = "wristband.sos"
    WRISTBAND_FALL = "wristband.fall"
    WRISTBAND_HEART_RATE = "wristband.heart_rate"
    WRISTBAND_SPO2 = "wristband.spo2"
    DEVICE_LOW_BATTERY = "device.low_battery"
    DEVICE_HEARTBEAT = "device.heartbeat"
    DEVICE_ONLINE = "device.online"
    DEVICE_OFFLINE = "device.offline"
    REVIEW = "review"
    OTHER = "other"


PASSAGE_KINDS = frozenset(k for k in EventKind if k.value.startswith("passage."))
LIVENESS_KINDS = frozenset({EventKind.DEVICE_HEARTBEAT, EventKind.DEVICE_ONLINE, EventKind.DEVICE_OFFLINE})


class SubjectKind(enum.StrEnum):
    RESIDENT = "resident"
    VISITOR = "visitor"
    PLATE = "plate"
    NONE = "none"


class SubjectRefType(enum.StrEnum):
    """What subject_ref is, so the storage layer knows where to look it up."""

    EMPLOYEE_NO = "employee_no"  # the person's id on the device (Hikvision employeeNo, Dahua UserID)
    CARD_NO = "card_no"
    FACE_ID = "face_id"  # a face library entry (Dahua candidate id, Frigate sub label)
    PLATE = "plate"
    VISITOR_PASS = "visitor_pass"
    NONE = ""


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    UNKNOWN = "unknown"


class State(enum.StrEnum):
    START = "start"
    STOP = "stop"
    PULSE = "pulse"
    UPDATE = "update"
    END = "end"


AttrValue = str | int | float | bool | None | list[str]


class Media(NamedTuple):
    """One picture that came with the event. Only its magic number was checked; it was not decoded."""

    name: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class NormalizedEvent:
    """One device event in Linli's terms. Times are aware and in UTC. Not to be mutated once made (not frozen only
    because a frozen dataclass's __init__ costs several times more, and ingest makes one per message)."""

    vendor: str  # generic | hikvision | dahua | frigate
    kind: EventKind
    device_ref: str  # the device as the payload names it: MAC, serial, camera name
    occurred_at: datetime
    occurred_at_raw: str
    external_id: str  # the idempotency key: the same vendor event always gives the same key
    subject_kind: SubjectKind = SubjectKind.NONE
    subject_ref: str = ""
    subject_ref_type: SubjectRefType = SubjectRefType.NONE
    score: float | None = None  # 0..1
    value: float | None = None  # a measurement (heart rate, SpO2, gas concentration, battery)
    unit: str = ""
    zone: str = ""
    direction: Direction = Direction.UNKNOWN
    state: State = State.PULSE
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    media: tuple[Media, ...] = ()
    raw: str = ""


class Reason(enum.StrEnum):
    """Why a payload went to quarantine. Codes are stable: operators filter on them."""

    EMPTY_BODY = "empty_body"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_TEXT = "invalid_text"
    INVALID_JSON = "invalid_json"
    JSON_TOO_DEEP = "json_too_deep"
    TOO_MANY_NODES = "too_many_nodes"
    STRING_TOO_LONG = "string_too_long"
    NUMBER_OUT_OF_RANGE = "number_out_of_range"
    DUPLICATE_KEY = "duplicate_key"
    INVALID_XML = "invalid_xml"
    XML_FORBIDDEN = "xml_forbidden"
    XML_TOO_DEEP = "xml_too_deep"
    BAD_MULTIPART = "bad_multipart"
    MULTIPART_TRUNCATED = "multipart_truncated"
    TOO_MANY_PARTS = "too_many_parts"
    PART_TOO_LARGE = "part_too_large"
    NO_DOCUMENT = "no_document"
    AMBIGUOUS_DOCUMENT = "ambiguous_document"
    WRONG_TYPE = "wrong_type"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    BAD_VALUE = "bad_value"
    UNKNOWN_KIND = "unknown_kind"
    UNKNOWN_EVENT = "unknown_event"
    NAIVE_TIME = "naive_time"
    BAD_TIME = "bad_time"
    TIME_OUT_OF_RANGE = "time_out_of_range"
    BAD_SCORE = "bad_score"
    BAD_PLATE = "bad_plate"
    BAD_UNIT = "bad_unit"
    TOO_MANY_EVENTS = "too_many_events"
    EMPTY_BATCH = "empty_batch"
    MISSING_DEVICE = "missing_device"
    UNKNOWN_TOPIC = "unknown_topic"
    MEDIA_MISSING = "media_missing"
    ORPHAN_PICTURE = "orphan_picture"
    STREAM_BROKEN = "stream_broken"


_MESSAGES: dict[Reason, tuple[str, str]] = {
    Reason.EMPTY_BODY: ("报文为空", "the payload is empty"),
    Reason.BODY_TOO_LARGE: ("报文过大", "the payload is too large"),
    Reason.UNSUPPORTED_CONTENT_TYPE: ("不支持的内容类型", "unsupported content type"),
    Reason.INVALID_UTF8: ("报文不是有效的 UTF-8 文本", "the payload is not valid UTF-8"),
    Reason.INVALID_TEXT: ("文本含有不允许的字符（空字符或孤立代理项）", "text holds a NUL or a lone surrogate"),
    Reason.INVALID_JSON: ("JSON 格式错误", "malformed JSON"),
    Reason.JSON_TOO_DEEP: ("JSON 嵌套层数过多", "JSON nested too deeply"),
    Reason.TOO_MANY_NODES: ("报文包含的元素过多", "the payload holds too many elements"),
    Reason.STRING_TOO_LONG: ("字符串过长", "a string is too long"),
    Reason.NUMBER_OUT_OF_RANGE: (
        "数值无效或超出范围（含 NaN、Infinity）",
        "a number is invalid or out of range (NaN, Infinity)",
    ),
    Reason.DUPLICATE_KEY: ("JSON 对象含有重复的键", "a JSON object repeats a key"),
    Reason.INVALID_XML: ("XML 格式错误", "malformed XML"),
    Reason.XML_FORBIDDEN: (
        "XML 含有禁止的 DTD、实体或外部引用",
        "XML holds a forbidden DTD, entity or external reference",
    ),
    Reason.XML_TOO_DEEP: ("XML 嵌套层数过多", "XML nested too deeply"),
    Reason.BAD_MULTIPART: ("multipart 报文格式错误", "malformed multipart body"),
    Reason.MULTIPART_TRUNCATED: ("multipart 报文被截断", "the multipart body is truncated"),
    Reason.TOO_MANY_PARTS: ("multipart 分段过多", "too many multipart parts"),
    Reason.PART_TOO_LARGE: ("multipart 分段过大", "a multipart part is too large"),
    Reason.NO_DOCUMENT: ("报文中没有事件数据（JSON 或 XML）", "no event document (JSON or XML) in the payload"),
    Reason.AMBIGUOUS_DOCUMENT: ("报文中有多个事件数据分段", "more than one event document in the payload"),
    Reason.WRONG_TYPE: ("字段类型错误", "wrong field type"),
    Reason.MISSING_FIELD: ("缺少必填字段", "a required field is missing"),
    Reason.UNKNOWN_FIELD: ("未知字段", "unknown field"),
    Reason.BAD_VALUE: ("字段取值无效", "invalid field value"),
    Reason.UNKNOWN_KIND: ("未知的事件类型", "unknown event kind"),
    Reason.UNKNOWN_EVENT: ("无法识别的设备事件", "unrecognised device event"),
    Reason.NAIVE_TIME: ("时间缺少时区", "the time has no time zone"),
    Reason.BAD_TIME: ("时间格式错误", "malformed time"),
    Reason.TIME_OUT_OF_RANGE: (
        "时间超出合理范围（2000 至 2100 年），请检查设备时钟",
        "the time is outside 2000-2100: check the device clock",
    ),
    Reason.BAD_SCORE: ("置信度应在 0-1 或 0-100 之间", "a score is between 0 and 1 or 0 and 100"),
    Reason.BAD_PLATE: ("车牌号格式无效", "invalid licence plate"),
    Reason.BAD_UNIT: ("该事件类型不接受此计量单位", "this unit is not allowed for this event kind"),
    Reason.TOO_MANY_EVENTS: ("一批事件过多", "too many events in one batch"),
    Reason.EMPTY_BATCH: ("事件批次为空", "the batch holds no events"),
    Reason.MISSING_DEVICE: ("报文未标明设备", "the payload names no device"),
    Reason.UNKNOWN_TOPIC: ("未知的 MQTT 主题", "unknown MQTT topic"),
    Reason.MEDIA_MISSING: ("事件引用的图片不在报文中", "a picture the event refers to is not in the payload"),
    Reason.ORPHAN_PICTURE: ("图片之前没有可关联的事件", "a picture came with no event before it"),
    Reason.STREAM_BROKEN: ("事件流已损坏，需要重新连接", "the event stream is broken: reconnect"),
}

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def clip(text: str, limit: int = 64) -> str:
    """A short, printable excerpt of untrusted text for an error message."""
    text = _UNPRINTABLE.sub("?", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Quarantine(Exception):
    """The payload (or one event of a batch) cannot become an event. Keep it with this reason for operators."""

    def __init__(self, reason_code: str, message_zh: str, message_en: str):
        super().__init__(f"{reason_code}: {message_en}")
        self.reason_code = reason_code
        self.message_zh = message_zh
        self.message_en = message_en

    @classmethod
    def of(cls, reason: Reason, where: str = "", detail: str = "") -> Quarantine:
        zh, en = _MESSAGES[reason]
        if where:
            zh, en = f"{where}：{zh}", f"{where}: {en}"
        if detail:
            zh, en = f"{zh}（{detail}）", f"{en} ({detail})"
        return cls(reason.value, zh, en)

    def as_dict(self) -> dict[str, str]:
        return {"reason_code": self.reason_code, "message_zh": self.message_zh, "message_en": self.message_en}


@dataclass(frozen=True, slots=True)
class Reject:
    """One event of a batch (or one part of a stream) that went to quarantine while the others went through."""

    index: int
    reason_code: str
    message_zh: str
    message_en: str
    raw: str

    @classmethod
    def from_quarantine(cls, index: int, exc: Quarantine, raw: str) -> Reject:
        return cls(index, exc.reason_code, exc.message_zh, exc.message_en, raw)


class ParseResult(NamedTuple):
    """What every entry point returns: the events, and the batch members that were quarantined one by one."""

    events: list[NormalizedEvent]
    rejects: list[Reject]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on hostile input. Anything past them is quarantined before it can cost memory or time."""

    max_body: int = 8 * 1024 * 1024
    max_parts: int = 16
    max_part: int = 4 * 1024 * 1024
    max_header: int = 8 * 1024
    max_depth: int = 32
    max_nodes: int = 100_000
    max_string: int = 4096
    max_events: int = 1000
    max_raw: int = 16 * 1024


DEFAULT_LIMITS = Limits()

K = TypeVar("K")


def kind_table(
    defaults: Mapping[K, EventKind | None], overrides: Mapping[K, EventKind | str | None] | None
) -> dict[K, EventKind | None]:
    """Defaults with a deployment's overrides on top. None means 'known, and deliberately not an event'.

    A bad override is a configuration mistake, so it raises ValueError at start-up rather than quarantining payloads.
    """
    table = dict(defaults)
    for code, kind in (overrides or {}).items():
        table[code] = None if kind is None else EventKind(kind)
    return table


def lower_keys(table: Mapping[str, EventKind | str | None] | None) -> dict[str, EventKind | str | None] | None:
    """Vendor event names are matched case-insensitively."""
    return None if table is None else {code.lower(): kind for code, kind in table.items()}
