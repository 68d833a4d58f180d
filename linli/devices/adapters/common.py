"""Steps every adapter shares: bounding the body, choosing JSON or XML, collecting pictures."""

from __future__ import annotations

import re
from typing import Any

import orjson

from .base import AttrValue, Limits, Media, Quarantine, Reason, clip
from .documents import check_tree, load_json, load_xml
from .multipart import Part, parse_header_value, parse_multipart
from .values import decode_utf8, sniff_picture

JSON_TYPES = {"application/json", "text/json"}
XML_TYPES = {"application/xml", "text/xml"}


def check_body(body: bytes, limits: Limits) -> None:
    if len(body) > limits.max_body:
        raise Quarantine.of(Reason.BODY_TOO_LARGE, detail=f"{len(body)} > {limits.max_body} bytes")
    if not body.strip():
        raise Quarantine.of(Reason.EMPTY_BODY)


def media_type(content_type: str) -> str:
    return parse_header_value(content_type or "")[0]


def document_format(data: bytes, declared: str) -> str | None:
    """'json', 'xml' or None, from the declared type or else from the first character."""
    if declared in JSON_TYPES or declared.endswith("+json"):
        return "json"
    if declared in XML_TYPES or declared.endswith("+xml"):
        return "xml"
    if declared in ("", "text/plain", "application/octet-stream"):
        first = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        return {b"{": "json", b"[": "json", b"<": "xml"}.get(first)
    return None


def load_document(data: bytes, fmt: str, limits: Limits) -> tuple[str, Any]:
    """(root element name or '', parsed value)."""
    if fmt == "json":
        return "", load_json_fast(decode_utf8(data), limits)
    return load_xml(data, limits)


# A run of number characters this long may be an integer or a float the strict loader refuses (more than 19 or 40
# characters) or one orjson reads differently (integers past 64 bits become floats there): such text goes the slow way.
LONG_NUMBER = re.compile(r"[-+.0-9eE]{19,}")
KEY_END = re.compile(r'"[ \t\n\r]*:')  # the end of every object key, and of nothing else outside strings
_CONTAINERS = (dict, list)


def _count_keys(value: Any) -> int:
    keys = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            keys += len(item)
            stack += [child for child in item.values() if type(child) in _CONTAINERS]
        elif type(item) is list:
            stack += [child for child in item if type(child) in _CONTAINERS]
    return keys


def load_json_fast(text: str, limits: Limits) -> Any:
    """``documents.load_json`` with the same result and the same errors, parsed by orjson when that is certainly the
    same: anything orjson refuses, a duplicate key and a long number are left to ``load_json`` (the reasons it
    gives stay those of the strict loader). The tree checks are skipped only when the text itself proves them
    (no string longer than the text, no escape that could give NUL or a surrogate, no deeper nesting or more
    values than it has brackets and commas)."""
    try:
        value = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return load_json(text, limits)
    if LONG_NUMBER.search(text) is not None:
        return load_json(text, limits)
    if type(value) in _CONTAINERS:
        # a duplicate key leaves fewer keys in the tree than key ends in the text (escaped quotes only add some)
        if len(KEY_END.findall(text)) != _count_keys(value):
            return load_json(text, limits)
        containers = text.count("{") + text.count("[")
        if (len(text) > limits.max_string or "\\u" in text or "\x00" in text or containers > limits.max_depth
                or 1 + text.count(",") + containers > limits.max_nodes):
            check_tree(value, limits)
    else:
        check_tree(value, limits)
    return value


def is_document_part(part: Part) -> bool:
    name = part.label.lower()
    if sniff_picture(part.data) is not None:
        return False
    return document_format(part.data, part.content_type) is not None or name.endswith((".json", ".xml"))


def pictures(parts: list[Part]) -> tuple[list[Media], list[str]]:
    """The parts that really are JPEG or PNG pictures, and the names of those that claimed to be and are not."""
    good: list[Media] = []
    bad: list[str] = []
    for part in parts:
        real_type = sniff_picture(part.data)
        if real_type:
            good.append(Media(part.label or f"part{len(good) + len(bad)}", real_type, part.data))
        else:
            bad.append(part.label or f"part{len(good) + len(bad)}")
    return good, bad


def compact_attrs(attrs: dict[str, AttrValue]) -> dict[str, AttrValue]:
    """Drop empty values so that attrs stay small."""
    return {key: value for key, value in attrs.items() if value is not None and value != "" and value != []}


def split_upload(body: bytes, content_type: str, limits: Limits) -> tuple[bytes, str, list[Media], list[str]]:
    """(document, 'json' or 'xml', pictures, names of parts that claimed to be pictures and are not).

    A bare JSON or XML body is its own document; a multipart body must hold exactly one document part.
    """
    declared = media_type(content_type)
    if not declared.startswith("multipart/"):
        fmt = document_format(body, declared)
        if fmt is None:
            raise Quarantine.of(Reason.UNSUPPORTED_CONTENT_TYPE, detail=clip(declared or "none"))
        return body, fmt, [], []
    parts = parse_multipart(body, content_type, limits)
    documents = [part for part in parts if is_document_part(part)]
    if not documents:
        raise Quarantine.of(Reason.NO_DOCUMENT)
    if len(documents) > 1:
        raise Quarantine.of(Reason.AMBIGUOUS_DOCUMENT, detail=", ".join(clip(p.label, 32) for p in documents[:4]))
    document = documents[0]
    fmt = document_format(document.data, document.content_type)
    if fmt is None:
        fmt = "xml" if document.label.lower().endswith(".xml") else "json"
    good, bad = pictures([part for part in parts if part is not document])
    return document.data, fmt, good, bad
