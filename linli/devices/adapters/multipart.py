"""A small, strict multipart/form-data reader for device uploads (Hikvision, the generic format with pictures).

It works on the whole body in memory (the HTTP layer has already bounded its size), finds delimiters with
bytes.find, and quarantines a missing boundary, a truncated body, too many parts or a part that is too large.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import Limits, Quarantine, Reason, clip

_PARAM_RE = re.compile(r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]", re.ASCII)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_BREAK = re.compile(r"\r?\n")


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    filename: str
    content_type: str
    data: bytes

    @property
    def label(self) -> str:
        """How an event refers to this part: its file name, or its field name."""
        return self.filename or self.name


def parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """'multipart/form-data; boundary="x"' -> ('multipart/form-data', {'boundary': 'x'}). Never raises."""
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM_RE.finditer(";" + rest):
        raw = match.group(2).strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(match.group(1).lower(), raw)
    return head.strip().lower(), params


def boundary_of(content_type: str) -> bytes:
    _, params = parse_header_value(content_type)
    boundary = params.get("boundary", "")
    if not boundary:
        raise Quarantine.of(Reason.BAD_MULTIPART, detail="the content type names no boundary")
    if not _BOUNDARY_RE.fullmatch(boundary):
        raise Quarantine.of(Reason.BAD_MULTIPART, detail=f"invalid boundary {clip(boundary)}")
    return boundary.encode("ascii")


def _decode_header(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_part_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    last = ""
    for line in _LINE_BREAK.split(_decode_header(block)):
        if line[:1] in (" ", "\t") and last:
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise Quarantine.of(Reason.BAD_MULTIPART, detail=f"bad part header {clip(line)}")
        last = name.strip().lower()
        headers[last] = value.strip()
    return headers


def make_part(headers: dict[str, str], data: bytes) -> Part:
    _, disposition = parse_header_value("x;" + headers.get("content-disposition", "").partition(";")[2])
    content_type, _ = parse_header_value(headers.get("content-type", ""))
    return Part(
        name=clip(disposition.get("name", ""), 128),
        filename=clip(disposition.get("filename", ""), 128),
        content_type=content_type,
        data=data,
    )


def parse_multipart(body: bytes, content_type: str, limits: Limits) -> list[Part]:
    delimiter = b"--" + boundary_of(content_type)
    start = body.find(delimiter)
    if start < 0 or (start > 0 and body[start - 1 : start] != b"\n"):
        raise Quarantine.of(Reason.BAD_MULTIPART, detail="the boundary does not occur in the body")
    parts: list[Part] = []
    pos = start + len(delimiter)
    while True:
        if body.startswith(b"--", pos):
            return parts
        line_end = body.find(b"\n", pos)
        if line_end < 0:
            raise Quarantine.of(Reason.MULTIPART_TRUNCATED, detail="no closing boundary")
        if body[pos:line_end].strip(b" \t\r"):
            raise Quarantine.of(Reason.BAD_MULTIPART, detail="text after a boundary")
        if len(parts) == limits.max_parts:
            raise Quarantine.of(Reason.TOO_MANY_PARTS, detail=f"limit {limits.max_parts}")
        part, pos = _read_part(body, line_end + 1, delimiter, limits)
        parts.append(part)


def _read_part(body: bytes, head: int, delimiter: bytes, limits: Limits) -> tuple[Part, int]:
    """One part starting at its headers; returns it and the position just after the next delimiter."""
    if body.startswith(b"\r\n", head) or body.startswith(b"\n", head):
        headers: dict[str, str] = {}
        data_start = head + (2 if body.startswith(b"\r\n", head) else 1)
    else:
        end = _HEADER_END.search(body, head, head + limits.max_header + 4)
        if end is None:
            reason = Reason.MULTIPART_TRUNCATED if len(body) < head + limits.max_header else Reason.BAD_MULTIPART
            raise Quarantine.of(reason, detail="part headers do not end")
        headers = parse_part_headers(body[head : end.start()])
        data_start = end.end()
    next_delimiter = body.find(b"\n" + delimiter, data_start - 1)
    if next_delimiter < 0:
        raise Quarantine.of(Reason.MULTIPART_TRUNCATED, detail="no closing boundary")
    data_end = next_delimiter - 1 if body[next_delimiter - 1 : next_delimiter] == b"\r" else next_delimiter
    data = body[data_start : max(data_start, data_end)]
    if len(data) > limits.max_part:
        raise Quarantine.of(Reason.PART_TOO_LARGE, detail=f"{len(data)} > {limits.max_part} bytes")
    return make_part(headers, data), next_delimiter + 1 + len(delimiter)
