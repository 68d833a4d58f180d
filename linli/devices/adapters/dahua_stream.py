"""Dahua's never-ending eventManager attach stream (multipart/x-mixed-replace), read incrementally.

Text parts read `Code=<code>;action=<Start|Stop|Pulse>;index=<n>;data={json}` (the JSON may span lines, and a
part may be split across any number of chunks); picture parts carry an exact Content-Length. A picture belongs to
the event of the text part before it, so events are held until the next text part arrives (a heartbeat at least
every few seconds with `heartbeat=5`) or until flush() is called when the connection is idle.

A bad part never stops the stream: it comes back as a Reject and the parser re-synchronises on the next boundary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from enum import Enum, auto

from .base import (
    DEFAULT_LIMITS,
    EventKind,
    Limits,
    Media,
    NormalizedEvent,
    ParseResult,
    Quarantine,
    Reason,
    Reject,
    State,
    clip,
)
from .dahua import ACTIONS, MAX_CODE, DahuaConfig, TimeFallback, build_event
from .documents import load_json
from .fields import Obj
from .multipart import boundary_of, make_part, parse_part_headers
from .values import SITE_TZ, decode_utf8, ensure_aware, normalize_device_ref, raw_text, sniff_picture

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_RECORD_START = re.compile(r"(?m)^(?=Code=)")
_HEARTBEAT = "heartbeat"
_MAX_MEDIA_PER_EVENT = 8


class _Step(Enum):
    BOUNDARY = auto()
    HEADERS = auto()
    BODY = auto()
    SKIP = auto()
    CLOSED = auto()


class DahuaStreamParser:
    """feed(chunk) -> ParseResult for each chunk read from the attach stream; flush() at idle or at the end."""

    def __init__(
        self,
        content_type: str,
        *,
        device_ref: str,
        code_kinds: Mapping[str, EventKind | str | None] | None = None,
        method_kinds: Mapping[int, EventKind | str | None] | None = None,
        site_tz: tzinfo = SITE_TZ,
        limits: Limits = DEFAULT_LIMITS,
    ):
        self.delimiter = b"--" + boundary_of(content_type)
        device = normalize_device_ref(device_ref, "device_ref")
        self.config = DahuaConfig.make(device, code_kinds, method_kinds, site_tz, limits)
        self.limits = limits
        self.buffer = bytearray()
        self.step = _Step.BOUNDARY
        self.headers: dict[str, str] = {}
        self.length: int | None = None
        self.junk = 0
        self.junk_is_rejected_part = False
        self.parts = 0
        self.pending: list[NormalizedEvent] = []
        self.pending_media: list[Media] = []

    def feed(self, chunk: bytes, *, received_at: datetime | None = None) -> ParseResult:
        """Consume one chunk; return the events completed so far and the parts that were quarantined."""
        if self.step is _Step.CLOSED:
            raise Quarantine.of(Reason.STREAM_BROKEN, detail="the stream already ended with its closing boundary")
        now = ensure_aware(received_at or datetime.now(UTC))
        self.buffer += chunk
        out = ParseResult([], [])
        while self._advance(out, now):
            pass
        return out

    def flush(self) -> ParseResult:
        """Release the events held for pictures that may follow."""
        out = ParseResult([], [])
        self._release(out)
        return out

    def _advance(self, out: ParseResult, now: datetime) -> bool:
        """One step of the state machine; False when it needs more bytes."""
        if self.step is _Step.BOUNDARY:
            return self._seek_boundary(out)
        if self.step is _Step.HEADERS:
            return self._read_headers(out)
        if self.step is _Step.SKIP:
            return self._skip()
        if self.step is _Step.BODY:
            return self._read_body(out, now)
        return False

    def _reject(self, out: ParseResult, reason: Reason, detail: str, raw: str = "") -> None:
        exc = Quarantine.of(reason, f"part {self.parts}", detail)
        out.rejects.append(Reject.from_quarantine(self.parts, exc, raw))

    def _seek_boundary(self, out: ParseResult) -> bool:
        at = self.buffer.find(self.delimiter)
        if at < 0:
            keep = len(self.delimiter)
            if len(self.buffer) > keep:
                self._count_junk(bytes(self.buffer[:-keep]))
                del self.buffer[:-keep]
            return False
        line_end = self.buffer.find(b"\n", at + len(self.delimiter))
        if line_end < 0:
            return False
        rest = bytes(self.buffer[at + len(self.delimiter) : line_end]).strip()
        self._count_junk(bytes(self.buffer[:at]))
        if rest.startswith(b"--"):
            self._report_junk(out)
            self._release(out)
            self.step = _Step.CLOSED
            return False
        if rest:
            self._count_junk(bytes(self.buffer[at : at + 1]))
            del self.buffer[: at + 1]
            return True
        self._report_junk(out)
        del self.buffer[: line_end + 1]
        self.step = _Step.HEADERS
        return True

    def _count_junk(self, data: bytes) -> None:
        self.junk += len(data.strip())

    def _report_junk(self, out: ParseResult) -> None:
        """Bytes skipped before a boundary are reported, unless they are the rest of a part already rejected."""
        if self.junk and not self.junk_is_rejected_part:
            self._reject(out, Reason.BAD_MULTIPART, f"{self.junk} bytes outside any part were skipped")
        self.junk, self.junk_is_rejected_part = 0, False

    def _read_headers(self, out: ParseResult) -> bool:
        if self.buffer.startswith(b"\r\n") or self.buffer.startswith(b"\n"):
            end_at, block = (2 if self.buffer.startswith(b"\r\n") else 1), b""
        else:
            match = _HEADER_END.search(self.buffer, 0, self.limits.max_header + 4)
            if match is None:
                if len(self.buffer) > self.limits.max_header:
                    self._abandon_part(out, Reason.BAD_MULTIPART, "part headers do not end")
                    return True
                return False
            end_at, block = match.end(), bytes(self.buffer[: match.start()])
        del self.buffer[:end_at]
        self.parts += 1
        try:
            self.headers = parse_part_headers(block) if block else {}
            self.length = Obj(self.headers, f"part {self.parts}").integer("content-length", lo=0)
        except Quarantine as exc:
            out.rejects.append(Reject.from_quarantine(self.parts, exc, raw_text(block, self.limits)))
            self.step, self.junk_is_rejected_part = _Step.BOUNDARY, True
            return True
        if self.length is not None and self.length > self.limits.max_part:
            self._reject(out, Reason.PART_TOO_LARGE, f"{self.length} > {self.limits.max_part} bytes")
            self.step = _Step.SKIP
            return True
        self.step = _Step.BODY
        return True

    def _abandon_part(self, out: ParseResult, reason: Reason, detail: str) -> None:
        """Give up on the current part and look for the next boundary."""
        self.parts += 1
        self._reject(out, reason, detail)
        del self.buffer[: -len(self.delimiter)]
        self.step, self.junk_is_rejected_part = _Step.BOUNDARY, True

    def _skip(self) -> bool:
        remaining = self.length or 0
        dropped = min(remaining, len(self.buffer))
        del self.buffer[:dropped]
        self.length = remaining - dropped
        if self.length:
            return False
        self.step = _Step.BOUNDARY
        return True

    def _read_body(self, out: ParseResult, now: datetime) -> bool:
        if self.length is not None:
            if len(self.buffer) < self.length:
                return False
            data = bytes(self.buffer[: self.length])
            del self.buffer[: self.length]
        elif self.buffer.startswith(self.delimiter):
            data = b""
        else:
            at = self.buffer.find(b"\n" + self.delimiter)
            if at < 0:
                if len(self.buffer) > self.limits.max_part:
                    self._abandon_part(out, Reason.PART_TOO_LARGE, f"more than {self.limits.max_part} bytes")
                    return True
                return False
            end = at - 1 if at > 0 and self.buffer[at - 1] == 0x0D else at
            data = bytes(self.buffer[: max(end, 0)])
            del self.buffer[: at + 1]
        self.step = _Step.BOUNDARY
        self._part(make_part(self.headers, data).content_type, data, out, now)
        return True

    def _part(self, content_type: str, data: bytes, out: ParseResult, now: datetime) -> None:
        picture_type = sniff_picture(data)
        if picture_type or content_type.startswith("image/"):
            self._picture(picture_type, data, out)
            return
        try:
            text = decode_utf8(data, f"part {self.parts}")
        except Quarantine as exc:
            out.rejects.append(Reject.from_quarantine(self.parts, exc, raw_text(data, self.limits)))
            return
        self._release(out)
        for record in _RECORD_START.split(text.strip()):
            if record.strip():
                self._record(record.strip(), out, now)

    def _picture(self, picture_type: str | None, data: bytes, out: ParseResult) -> None:
        if picture_type is None:
            self._reject(out, Reason.BAD_VALUE, "an image part that is not a JPEG or PNG")
        elif not self.pending:
            self._reject(out, Reason.ORPHAN_PICTURE, "")
        elif len(self.pending_media) >= _MAX_MEDIA_PER_EVENT:
            self._reject(out, Reason.TOO_MANY_PARTS, f"at most {_MAX_MEDIA_PER_EVENT} pictures per event")
        else:
            self.pending_media.append(Media(f"part{self.parts}.{picture_type[6:]}", picture_type, data))

    def _release(self, out: ParseResult) -> None:
        media = tuple(self.pending_media)
        for event in self.pending:
            out.events.append(replace(event, media=media) if media else event)
        self.pending, self.pending_media = [], []

    def _record(self, record: str, out: ParseResult, now: datetime) -> None:
        raw = raw_text(record, self.limits)
        try:
            event = self._event(record, now, raw)
        except Quarantine as exc:
            out.rejects.append(Reject.from_quarantine(self.parts, exc, raw))
            return
        if event is None:
            return
        if event.kind is EventKind.DEVICE_HEARTBEAT:
            out.events.append(event)
        else:
            self.pending.append(event)

    def _event(self, record: str, now: datetime, raw: str) -> NormalizedEvent | None:
        fallback = TimeFallback(None, now, self.config.site_tz)
        if record.lower() == _HEARTBEAT:
            return build_event(self.config, "Heartbeat", State.PULSE, 0, None, fallback, raw)
        fields = split_record(record)
        header = Obj(fields, f"part {self.parts}")
        code = header.text("code", required=True, max_len=MAX_CODE) or ""
        action = header.choice("action", ACTIONS, default=State.PULSE)
        channel = header.integer("index", lo=0, hi=65535) or 0
        data = None
        if fields.get("data"):
            data = Obj.of(load_json(fields["data"], self.limits, f"part {self.parts}.data"), f"part {self.parts}.data")
        return build_event(self.config, code, action, channel, data, fallback, raw)


def split_record(record: str) -> dict[str, str]:
    """'Code=X;action=Start;index=0;data={...}' -> {'code': 'X', 'action': 'Start', 'index': '0', 'data': '{...}'}.
    Everything after 'data=' is the JSON, semicolons and line breaks included."""
    fields: dict[str, str] = {}
    rest = record
    while rest:
        if rest.startswith("data="):
            fields["data"] = rest[5:].strip()
            break
        segment, _, rest = rest.partition(";")
        rest = rest.lstrip()
        key, equals, value = segment.partition("=")
        if not equals:
            raise Quarantine.of(Reason.BAD_VALUE, detail=f"not key=value: {clip(segment)}")
        fields[key.strip().lower()] = value.strip()
    return fields
