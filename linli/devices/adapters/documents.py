"""Loading JSON and XML from untrusted devices within limits: depth, element count, string length, no NaN,
no duplicate keys, no DTD or entities (defusedxml). XML is turned into the same dict shape JSON gives, so one
adapter reads both spellings of a vendor's payload."""

from __future__ import annotations

import json
import math
import re
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from .base import Limits, Quarantine, Reason, clip

_BAD_CHARS = re.compile(r"[\x00\ud800-\udfff]")
_MAX_NUMBER_TEXT = 40


def _reject_constant(name: str) -> float:
    raise Quarantine.of(Reason.NUMBER_OUT_OF_RANGE, detail=name)


def _parse_float(text: str) -> float:
    value = float(text) if len(text) <= _MAX_NUMBER_TEXT else math.inf
    if not math.isfinite(value):
        raise Quarantine.of(Reason.NUMBER_OUT_OF_RANGE, detail=clip(text, 24))
    return value


def _parse_int(text: str) -> int:
    if len(text) > 19:
        raise Quarantine.of(Reason.NUMBER_OUT_OF_RANGE, detail=clip(text, 24))
    return int(text)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise Quarantine.of(Reason.DUPLICATE_KEY, detail=clip(key))
            seen.add(key)
    return result


def load_json(text: str, limits: Limits, where: str = "") -> Any:
    """Parse JSON text, then check the tree against the limits. Only Quarantine comes out."""
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
            object_pairs_hook=_unique_pairs,
        )
    except RecursionError as exc:
        raise Quarantine.of(Reason.JSON_TOO_DEEP, where, f"limit {limits.max_depth}") from exc
    except json.JSONDecodeError as exc:
        raise Quarantine.of(Reason.INVALID_JSON, where, f"line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    check_tree(value, limits)
    return value


def check_text(text: str, limits: Limits, where: str = "") -> None:
    if len(text) > limits.max_string:
        raise Quarantine.of(Reason.STRING_TOO_LONG, where, f"{len(text)} > {limits.max_string}")
    if _BAD_CHARS.search(text):
        raise Quarantine.of(Reason.INVALID_TEXT, where)


def check_tree(value: Any, limits: Limits) -> None:
    """Depth, size and text checks over a parsed tree, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise Quarantine.of(Reason.TOO_MANY_NODES, detail=f"limit {limits.max_nodes}")
        if isinstance(item, str):
            check_text(item, limits)
        elif isinstance(item, dict | list):
            if depth > limits.max_depth:
                raise Quarantine.of(Reason.JSON_TOO_DEEP, detail=f"limit {limits.max_depth}")
            if isinstance(item, dict):
                for key, child in item.items():
                    check_text(key, limits)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


class _Repeated(list[Any]):
    """Sibling elements with the same name, which become a JSON-like list."""


class _Builder:
    """Builds nested dicts straight from expat's callbacks, stopping at the depth and element limits."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.root: tuple[str, Any] | None = None
        self.elements = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.limits.max_nodes:
            raise Quarantine.of(Reason.TOO_MANY_NODES, detail=f"limit {self.limits.max_nodes}")
        if len(self.stack) >= self.limits.max_depth:
            raise Quarantine.of(Reason.XML_TOO_DEEP, detail=f"limit {self.limits.max_depth}")
        self.stack.append((tag.rpartition("}")[2], {}, []))

    def data(self, text: str) -> None:
        if self.stack:
            chunks = self.stack[-1][2]
            chunks.append(text)
            if len(chunks) > 1 and sum(map(len, chunks)) > self.limits.max_string:
                raise Quarantine.of(Reason.STRING_TOO_LONG, detail=f"limit {self.limits.max_string}")

    def end(self, tag: str) -> None:
        name, children, chunks = self.stack.pop()
        value: Any = children if children else "".join(chunks).strip()
        if isinstance(value, str):
            check_text(value, self.limits, name)
        if not self.stack:
            self.root = (name, value)
            return
        siblings = self.stack[-1][1]
        if name not in siblings:
            siblings[name] = value
        elif isinstance(siblings[name], _Repeated):
            siblings[name].append(value)
        else:
            siblings[name] = _Repeated([siblings[name], value])

    def close(self) -> tuple[str, Any]:
        if self.root is None:
            raise Quarantine.of(Reason.INVALID_XML, detail="no root element")
        return self.root


_DECLARED_ENCODING = re.compile(rb"""\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_CHINESE_ENCODINGS = {b"gb2312", b"gbk", b"gb18030", b"cp936"}


def as_utf8(data: bytes) -> bytes:
    """Expat reads no multi-byte encoding but UTF-8/16; Chinese firmware may declare GB2312 or GBK."""
    match = _DECLARED_ENCODING.match(data)
    if not match or match.group(1).lower() not in _CHINESE_ENCODINGS:
        return data
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Quarantine.of(Reason.INVALID_XML, detail=f"not {match.group(1).decode()} at byte {exc.start}") from exc
    return data[: match.start(1)] + b"UTF-8" + text[len(data[: match.end(1)].decode("ascii")) :].encode("utf-8")


def load_xml(data: bytes, limits: Limits) -> tuple[str, Any]:
    """Parse XML (no DTD, no entities, no external references) into (root name, dict). Namespaces are dropped:
    Hikvision firmware uses three of them for the same schema."""
    builder = _Builder(limits)
    try:
        parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        parser.feed(as_utf8(data))
        parser.close()
    except DefusedXmlException as exc:
        raise Quarantine.of(Reason.XML_FORBIDDEN, detail=type(exc).__name__) from exc
    except (ParseError, ValueError, LookupError) as exc:  # multi-byte or unknown encodings: ValueError, LookupError
        raise Quarantine.of(Reason.INVALID_XML, detail=clip(str(exc), 120)) from exc
    return builder.close()
