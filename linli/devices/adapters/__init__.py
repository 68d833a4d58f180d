"""Device adapters: vendor payload bytes in, NormalizedEvent out (or Quarantine with the reason).

Entry points, each returning ParseResult(events, rejects) and raising only Quarantine:
    parse_generic(body, content_type)            Linli's generic JSON format, single event or batch of up to 1,000
    parse_hikvision(body, content_type)          ISAPI: access controller, ANPR, smart camera (multipart, JSON, XML)
    parse_dahua_upload(body, content_type)       Dahua HTTP upload JSON
    DahuaStreamParser(content_type, device_ref)  Dahua eventManager attach stream: feed(chunk) / flush()
    parse_frigate(topic, payload)                Frigate MQTT: <prefix>/events, /reviews, /available
See docs/devices/adapters.md.
"""

from .base import (
    DEFAULT_LIMITS,
    LIVENESS_KINDS,
    PASSAGE_KINDS,
    Direction,
    EventKind,
    Limits,
    Media,
    NormalizedEvent,
    ParseResult,
    Quarantine,
    Reason,
    Reject,
    State,
    SubjectKind,
    SubjectRefType,
)
from .dahua import DAHUA_CODE_KINDS, DAHUA_METHOD_KINDS, parse_dahua_upload
from .dahua_stream import DahuaStreamParser
from .frigate import FRIGATE_LABEL_KINDS, FRIGATE_ZONE_KINDS, parse_frigate
from .generic import parse_generic
from .hikvision import HIKVISION_EVENT_KINDS, HIKVISION_MINOR_KINDS, parse_hikvision
from .values import SITE_TZ, normalize_plate, normalize_score

__all__ = [
    "DAHUA_CODE_KINDS",
    "DAHUA_METHOD_KINDS",
    "DEFAULT_LIMITS",
    "FRIGATE_LABEL_KINDS",
    "FRIGATE_ZONE_KINDS",
    "HIKVISION_EVENT_KINDS",
    "HIKVISION_MINOR_KINDS",
    "LIVENESS_KINDS",
    "PASSAGE_KINDS",
    "SITE_TZ",
    "DahuaStreamParser",
    "Direction",
    "EventKind",
    "Limits",
    "Media",
    "NormalizedEvent",
    "ParseResult",
    "Quarantine",
    "Reason",
    "Reject",
    "State",
    "SubjectKind",
    "SubjectRefType",
    "normalize_plate",
    "normalize_score",
    "parse_dahua_upload",
    "parse_frigate",
    "parse_generic",
    "parse_hikvision",
]
