"""Rendering Open311 answers as XML (xml.etree, ``text/xml``) or JSON (bare arrays), and the errors envelope."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json"
# For each list element in XML, the tag of its items: <services><service>..., <values><value>...
ITEM_TAGS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
             "endpoints": "endpoint", "formats": "format", "errors": "error",
             "service_request_updates": "request_update"}


def w3c(moment: dt.datetime | None) -> str | None:
    """``2026-04-23T10:00:00+08:00``: local time with its zone, whole seconds."""
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        tag = ITEM_TAGS[element.tag]
        for item in value:
            _fill(ET.SubElement(element, tag), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def render(fmt: str, root: str, value: Any, status: int = 200) -> HttpResponse:
    """``value`` as JSON as it is, or as XML under ``root`` (a list becomes repeated item elements)."""
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False).encode()
        return HttpResponse(body, status=status, content_type=JSON_TYPE)
    return HttpResponse(to_xml(root, value), status=status, content_type=XML_TYPE)


class Open311Error(Exception):
    """An error answered in the Open311 envelope: 400 bad parameter, 403 bad key, 404 unknown thing."""

    def __init__(self, status: int, descriptions: list[str] | str):
        super().__init__(descriptions)
        self.status = status
        self.descriptions = [descriptions] if isinstance(descriptions, str) else descriptions


def render_error(fmt: str, error: Open311Error) -> HttpResponse:
    return render(fmt, "errors", [{"code": error.status, "description": d} for d in error.descriptions],
                  status=error.status)
