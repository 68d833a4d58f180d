"""Payloads as the devices send them: Linli's generic JSON, Hikvision ISAPI (access-controller JSON, ANPR XML, both
bare or in multipart with pictures), Dahua HTTP upload JSON and Frigate MQTT messages. Pure functions of their
arguments: (body, content type)."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone

JSON = "application/json"
BOUNDARY = "linli-simulate-boundary"


def local_iso(at: dt.datetime) -> str:
    return timezone.localtime(at).isoformat(timespec="seconds")


def jpeg(label: str, size: tuple[int, int] = (96, 64)) -> bytes:
    """A small real JPEG (Pillow), different per label, standing in for a snapshot."""
    from PIL import Image

    shade = sum(label.encode()) % 200
    image = Image.new("RGB", size, (shade, 120, 255 - shade))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def multipart(parts: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """(name, content type, data, filename) parts, each with its Content-Length, as Hikvision firmware lays them out."""
    body = b""
    for name, content_type, data, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n").encode() + data + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


# ------------------------------------------------------------------------------------------------ generic

def generic_event(serial: str, kind: str, at: dt.datetime, event_id: str, **fields: Any) -> dict[str, Any]:
    return {"device": serial, "kind": kind, "time": local_iso(at), "id": event_id,
            **{k: v for k, v in fields.items() if v is not None}}


def generic(event: dict[str, Any] | list[dict[str, Any]], serial: str = "") -> tuple[bytes, str]:
    """One event, or a batch of events sent by ``serial``."""
    document: Any = event if isinstance(event, dict) else {"device": serial, "events": event}
    return json.dumps(document, ensure_ascii=False).encode(), JSON


def resident_subject(ref: str, card: bool = False) -> dict[str, str]:
    return {"kind": "resident", "ref": ref, "ref_type": "card_no" if card else "employee_no"}


# ------------------------------------------------------------------------------------------------ Hikvision

def hikvision_access(mac: str, at: dt.datetime, serial_no: int, *, employee: str = "", card: str = "",
                     door_name: str = "", picture: bytes | None = None) -> tuple[bytes, str]:
    """An AccessControllerEvent: a face pass (minor 75) for an employee number, a card pass (minor 1) for a card;
    with a picture it comes as multipart (``event_log`` + ``Picture``), as access terminals push it."""
    inner: dict[str, Any] = {"deviceName": door_name, "majorEventType": 5, "subEventType": 1 if card else 75,
                             "cardReaderNo": 1, "serialNo": serial_no, "currentVerifyMode": "cardOrFace",
                             "attendanceStatus": "undefined", "mask": "no", "picturesNumber": 1 if picture else 0}
    if employee:
        inner["employeeNoString"] = employee
    if card:
        inner["cardNo"] = card
    document = json.dumps({"ipAddress": "10.12.3.41", "portNo": 80, "protocol": "HTTP", "macAddress": mac,
                           "channelID": 1, "dateTime": local_iso(at), "activePostCount": 1,
                           "eventType": "AccessControllerEvent", "eventState": "active",
                           "eventDescription": "Access Controller Event", "AccessControllerEvent": inner},
                          ensure_ascii=False).encode()
    if picture is None:
        return document, JSON
    return multipart([("event_log", JSON, document, ""), ("Picture", "image/jpeg", picture, "Picture.jpg")])


def hikvision_anpr(mac: str, at: dt.datetime, uuid: str, plate: str, *, direction: str = "forward",
                   confidence: int = 97, pictures: bool = False) -> tuple[bytes, str]:
    """An ANPR notification (XML); with pictures as multipart (anpr.xml + licensePlatePicture.jpg)."""
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
           f"<ipAddress>10.12.5.20</ipAddress><macAddress>{escape(mac)}</macAddress><channelID>1</channelID>"
           f"<dateTime>{local_iso(at)}</dateTime><activePostCount>1</activePostCount><eventType>ANPR</eventType>"
           "<eventState>active</eventState><eventDescription>ANPR</eventDescription>"
           f"<ANPR><country>CN</country><licensePlate>{escape(plate)}</licensePlate><line>1</line>"
           f"<direction>{direction}</direction><confidenceLevel>{confidence}</confidenceLevel>"
           "<plateColor>blue</plateColor><vehicleType>vehicle</vehicleType>"
           "<vehicleListName>allowList</vehicleListName></ANPR>"
           f"<UUID>{escape(uuid)}</UUID></EventNotificationAlert>").encode()
    if not pictures:
        return xml, "application/xml"
    return multipart([("anpr.xml", "application/xml", xml, "anpr.xml"),
                      ("licensePlatePicture.jpg", "image/jpeg", jpeg(plate, (120, 40)), "licensePlatePicture.jpg"),
                      ("detectionPicture.jpg", "image/jpeg", jpeg(plate + "scene"), "detectionPicture.jpg")])


# ------------------------------------------------------------------------------------------------ Dahua

def _dahua_times(at: dt.datetime) -> dict[str, int]:
    real = int(at.timestamp())
    offset = timezone.localtime(at).utcoffset() or dt.timedelta()
    return {"UTC": real + int(offset.total_seconds()), "RealUTC": real}  # UTC: the local wall clock as epoch


def dahua_access(at: dt.datetime, rec_no: int, *, user: str = "", card: str = "", entry: bool = True,
                 name: str = "") -> dict[str, Any]:
    return {"Code": "AccessControl", "Action": "Pulse", "Index": 0, "Data": {
        "CardName": name, "CardNo": card, "CardType": 0, "Door": 0, "ErrorCode": 0, "Method": 1 if card else 15,
        "ReaderID": "1", "RecNo": rec_no, "Status": 1, "Type": "Entry" if entry else "Exit", "UserID": user,
        "UserType": 0, **_dahua_times(at)}}


def dahua_traffic(at: dt.datetime, event_id: int, plate: str, *, entry: bool = True) -> dict[str, Any]:
    return {"Code": "TrafficJunction", "Action": "Pulse", "Index": 0, "Data": {
        "Name": "车道", "EventID": event_id, "Lane": 1, **_dahua_times(at),
        "DrivingDirection": ["Approach" if entry else "Leave", "大门", "小区内"],
        "TrafficCar": {"PlateNumber": plate, "PlateColor": "Blue", "PlateType": "Normal", "VehicleType": "Motor",
                       "Confidence": 96, "Lane": 1, "Speed": 10, "Event": "TrafficJunction"}}}


def dahua_upload(events: list[dict[str, Any]], at: dt.datetime) -> tuple[bytes, str]:
    document = {"ip": "10.12.4.31", "Time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S"), "Events": events}
    return json.dumps(document, ensure_ascii=False).encode(), JSON


# ------------------------------------------------------------------------------------------------ Frigate

def frigate_event(kind: str, camera: str, object_id: str, started: dt.datetime, at: dt.datetime, *,
                  label: str = "car", zones: tuple[str, ...] = ("fire_lane",), stationary: bool = True,
                  score: float = 0.88, plate: str | None = None) -> bytes:
    """A ``frigate/events`` message (``new``, ``update`` or ``end``) about one tracked object."""
    after = {"id": object_id, "camera": camera, "frame_time": at.timestamp(), "label": label, "sub_label": None,
             "top_score": score, "score": score, "false_positive": False, "start_time": started.timestamp(),
             "end_time": at.timestamp() if kind == "end" else None, "active": not stationary,
             "stationary": stationary, "motionless_count": int((at - started).total_seconds() * 5),
             "current_zones": list(zones), "entered_zones": list(zones), "has_clip": True, "has_snapshot": True,
             "recognized_license_plate": plate, "recognized_license_plate_score": 0.92 if plate else None}
    return json.dumps({"type": kind, "before": {**after, "frame_time": started.timestamp()}, "after": after},
                      ensure_ascii=False).encode()
