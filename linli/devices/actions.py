"""Writes of the device registry, device credentials, vehicles, visitor passes and the quarantine list. Each takes
``actor=``, checks the actor's permission at the row's place, runs in one transaction and writes the audit entry.
(Device data itself is written by linli.devices.ingest.)"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import Conflict, ErrorCollector, invalid
from linli.core.identity import clean_text
from linli.core.permissions import Perm
from linli.people.models import Resident
from linli.places.choices import PlaceStatus
from linli.places.models import Place

from . import keys
from .adapters import ParseResult, Quarantine, normalize_plate
from .adapters.values import normalize_device_ref
from .choices import GATEWAY_KINDS, CredentialType, DeviceKind, QuarantineStatus, Source, Vendor
from .ingest import parse_payload, record_device_events
from .models import DEFAULT_OFFLINE_AFTER, Device, DeviceCredential, QuarantinedPayload, Vehicle, VisitorPass
from .resolve import related

DEVICE_FIELDS = ("kind", "vendor", "serial", "name", "place_id", "longitude", "latitude", "attrs", "wearer_id",
                 "gateway_id", "offline_after", "enabled")
MAX_OFFLINE_AFTER = 7 * 24 * 60
MAX_ATTRS = 32
MAX_PASS_DAYS = 90
PASS_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed
PASS_CODE_LENGTH = 8
WHOLE_PAYLOAD_SOURCES = {Source.HIKVISION, Source.DAHUA, Source.DAHUA_MEMBER}


# ------------------------------------------------------------------------------------------------ validation

def _number(data: dict[str, Any], key: str, low: float, high: float, errors: ErrorCollector, zh: str) -> float | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        errors.add(key, "out_of_range", f"{zh}应在 {low:g} 到 {high:g} 之间", f"{key} must be between {low:g} and {high:g}")
        return None
    return number


def _choice(data: dict[str, Any], key: str, choices: list[str], errors: ErrorCollector, zh: str) -> str:
    value = str(data.get(key) or "")
    if value not in choices:
        errors.add(key, "invalid_choice" if value else "required", f"{zh}无效" if value else f"请选择{zh}",
                   f"unknown {key} {value!r}" if value else f"{key} is required")
    return value


def clean_serial(value: Any, errors: ErrorCollector, field: str = "serial") -> str:
    text = clean_text(value)
    if not text:
        errors.add(field, "required", "请填写序列号", "the serial is required")
        return ""
    try:
        return normalize_device_ref(text, field)
    except Quarantine:
        errors.add(field, "invalid", "序列号应为 1 到 64 个可打印字符", "a serial is 1 to 64 printable characters")
        return ""


def _attrs(value: Any, errors: ErrorCollector) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > MAX_ATTRS or not all(
            isinstance(k, str) and len(k) <= 64 and (v is None or isinstance(v, str | int | float | bool))
            for k, v in value.items()):
        errors.add("attrs", "invalid", "附加属性应为不超过 32 项的键值（文字、数字或是否）",
                   "attrs is an object of at most 32 keys with text, number or boolean values")
        return {}
    return value


def clean_device_fields(data: dict[str, Any], errors: ErrorCollector, *, partial: bool) -> dict[str, Any]:
    """A device's plain fields as the API, the console and the xlsx import give them; returns model values."""
    out: dict[str, Any] = {}
    if "kind" in data or not partial:
        out["kind"] = _choice(data, "kind", DeviceKind.values, errors, "设备类型")
    if "vendor" in data or not partial:
        out["vendor"] = _choice(data, "vendor", Vendor.values, errors, "厂商")
    if "serial" in data or not partial:
        out["serial"] = clean_serial(data.get("serial"), errors)
    if "name" in data or not partial:
        name = clean_text(data.get("name"))
        if not name or len(name) > 100:
            errors.add("name", "required" if not name else "too_long", "请填写不超过 100 字的名称",
                       "the name is required (at most 100 characters)")
        out["name"] = name
    for key, low, high, zh in (("longitude", -180, 180, "经度"), ("latitude", -90, 90, "纬度")):
        if key in data:
            out[key] = _number(data, key, low, high, errors, zh)
    if (data.get("longitude") in (None, "")) != (data.get("latitude") in (None, "")):
        errors.add("longitude", "incomplete", "经度和纬度须同时填写", "give both longitude and latitude")
    if "offline_after" in data:
        minutes = _number(data, "offline_after", 1, MAX_OFFLINE_AFTER, errors, "离线判定分钟数")
        out["offline_after"] = int(minutes) if minutes is not None else DEFAULT_OFFLINE_AFTER
    if "attrs" in data:
        out["attrs"] = _attrs(data.get("attrs") or {}, errors)
    if "enabled" in data:
        out["enabled"] = bool(data["enabled"])
    return out


def check_relations(errors: ErrorCollector, *, kind: str, place: Place, wearer: Resident | None,
                    gateway: Device | None, device_pk: int | None = None) -> None:
    """What ties a device to its place: an active place, a wearer only on a wristband, a gateway on one branch."""
    if place.status != PlaceStatus.ACTIVE:
        errors.add("place", "inactive", "该地点已合并或撤销", "the place has been merged or retired")
    if wearer is not None and kind != DeviceKind.WRISTBAND:
        errors.add("wearer", "not_wristband", "只有智能手环可以登记佩戴人", "only a wristband has a wearer")
    if gateway is not None:
        if gateway.kind not in GATEWAY_KINDS or gateway.retired_at is not None or gateway.pk == device_pk:
            errors.add("gateway", "not_gateway", "所属网关须为在用的传感器网关或硬盘录像机",
                       "the gateway must be a sensor gateway or NVR in use")
        elif not related(gateway.place_path, place.path):
            errors.add("gateway", "elsewhere", "网关与设备不在同一区域", "the gateway is installed in another area")


def _serial_taken(vendor: str, serial: str, exclude_pk: int | None = None) -> bool:
    return Device.objects.filter(vendor=vendor, serial=serial, retired_at__isnull=True).exclude(pk=exclude_pk).exists()


def _duplicate_serial() -> Conflict:
    return Conflict("该厂商下已有相同序列号的在用设备", "a device of this vendor with this serial is already registered",
                    code="duplicate_serial")


def _snapshot(device: Device) -> dict[str, Any]:
    return {f: getattr(device, f) for f in DEVICE_FIELDS}


# ------------------------------------------------------------------------------------------------ devices

def register_device(*, actor: Actor, place: Place, wearer: Resident | None = None, gateway: Device | None = None,
                    **data: Any) -> tuple[Device, str]:
    """A new device and its secret (shown to the operator once; only its digest is kept)."""
    actor.require(Perm.DEVICE_MANAGE, place.path)
    errors = ErrorCollector()
    clean = clean_device_fields(data, errors, partial=False)
    check_relations(errors, kind=clean["kind"], place=place, wearer=wearer, gateway=gateway)
    errors.raise_if_any()
    return create_devices(actor=actor, devices=[(place, wearer, gateway, clean)])[0]


def create_devices(*, actor: Actor, devices: list[tuple[Place, Resident | None, Device | None, dict[str, Any]]],
                   action: str = "device.register") -> list[tuple[Device, str]]:
    """Insert validated devices, all or none (the registration form and the xlsx import)."""
    now = timezone.now()
    created = []
    with transaction.atomic():
        for place, wearer, gateway, clean in devices:
            if _serial_taken(clean["vendor"], clean["serial"]):
                raise _duplicate_serial()
            secret = keys.new_secret()
            device = Device(place=place, place_path=place.path, wearer=wearer, gateway=gateway,
                            secret_hash=keys.secret_digest(secret), secret_rotated_at=now, **clean)
            try:
                with transaction.atomic():
                    device.save(force_insert=True)
            except IntegrityError as exc:  # registered concurrently
                raise _duplicate_serial() from exc
            audit.record(actor, action, target=device, after=_snapshot(device))
            created.append((device, secret))
    return created


def update_device(*, actor: Actor, device: Device, place: Place | None = None, wearer: Resident | None = None,
                  gateway: Device | None = None, **data: Any) -> Device:
    """Change the fields given. ``place``, ``wearer`` and ``gateway`` change when passed (``clear_wearer`` /
    ``clear_gateway`` in ``data`` remove them)."""
    actor.require(Perm.DEVICE_MANAGE, device.place_path)
    if place is not None:
        actor.require(Perm.DEVICE_MANAGE, place.path)
    clear_wearer, clear_gateway = data.pop("clear_wearer", False), data.pop("clear_gateway", False)
    errors = ErrorCollector()
    clean = clean_device_fields(data, errors, partial=True)
    if device.retired_at is not None:
        raise Conflict("设备已停用，不能修改", "the device is retired and cannot be changed", code="retired")
    with transaction.atomic():
        current = Device.objects.select_for_update().get(pk=device.pk)
        before = _snapshot(current)
        for key, value in clean.items():
            setattr(current, key, value)
        if place is not None:
            current.place, current.place_path = place, place.path
        if wearer is not None or clear_wearer:
            current.wearer = wearer
        if gateway is not None or clear_gateway:
            current.gateway = gateway
        check_relations(errors, kind=current.kind, place=current.place, wearer=current.wearer,
                        gateway=current.gateway, device_pk=current.pk)
        errors.raise_if_any()
        if _serial_taken(current.vendor, current.serial, exclude_pk=current.pk):
            raise _duplicate_serial()
        current.save()
        b, a = audit.diff(before, _snapshot(current))
        if a:
            audit.record(actor, "device.update", target=current, before=b, after=a)
    return current


def rotate_device_secret(*, actor: Actor, device: Device) -> tuple[Device, str]:
    """A new secret; the old one stops working at once."""
    actor.require(Perm.DEVICE_MANAGE, device.place_path)
    secret = keys.new_secret()
    now = timezone.now()
    with transaction.atomic():
        if Device.objects.filter(pk=device.pk, retired_at__isnull=True).update(
                secret_hash=keys.secret_digest(secret), secret_rotated_at=now) != 1:
            raise Conflict("设备已停用", "the device is retired", code="retired")
        audit.record(actor, "device.rotate_secret", target=device, after={"secret_rotated_at": now})
    device.refresh_from_db()
    return device, secret


def retire_device(*, actor: Actor, device: Device) -> Device:
    """Take a device out of service: it can no longer send, its serial is free again, its history stays."""
    actor.require(Perm.DEVICE_MANAGE, device.place_path)
    now = timezone.now()
    with transaction.atomic():
        if Device.objects.filter(gateway=device, retired_at__isnull=True).exists():
            raise Conflict("该网关下还有在用设备，请先停用或移走它们",
                           "devices still report through this gateway: retire or move them first", code="has_devices")
        if Device.objects.filter(pk=device.pk, retired_at__isnull=True).update(retired_at=now, enabled=False) != 1:
            raise Conflict("设备已停用", "the device is already retired", code="retired")
        audit.record(actor, "device.retire", target=device, after={"retired_at": now})
    device.refresh_from_db()
    return device


# ------------------------------------------------------------------------------------------------ credentials

def add_credential(*, actor: Actor, resident: Resident, ref_type: str, ref: str, device: Device | None = None,
                   place: Place | None = None, note: str = "") -> DeviceCredential:
    """Tell Linli who a device's employee number, card or face id is: on one device, or on every device under a
    place. The resident must live under (or above) that place."""
    where = device.place if device is not None else place
    if where is None:
        raise invalid("place", "required", "请选择设备或地点", "choose a device or a place")
    actor.require(Perm.PASSAGE_MANAGE, where.path)
    errors = ErrorCollector()
    ref_type = _choice({"ref_type": ref_type}, "ref_type", CredentialType.values, errors, "凭证类型")
    ref = clean_text(ref)
    if not ref or len(ref) > 64:
        errors.add("ref", "required", "请填写不超过 64 字符的凭证号", "the credential is 1 to 64 characters")
    if not related(resident.place_path, where.path):
        errors.add("resident_id", "elsewhere", "该居民不住在此地点范围内", "the resident does not live in this area")
    if device is not None and device.retired_at is not None:
        errors.add("device_id", "retired", "设备已停用", "the device is retired")
    errors.raise_if_any()
    credential = DeviceCredential(device=device, place=where, place_path=where.path, ref_type=ref_type, ref=ref,
                                  resident=resident, note=clean_text(note)[:200])
    try:
        with transaction.atomic():
            credential.save(force_insert=True)
            audit.record(actor, "device.credential.add", target=credential, target_label=f"{ref_type}:{ref}",
                         after={"device": device and device.pk, "place": where.pk, "ref_type": ref_type, "ref": ref,
                                "resident": resident.pk})
    except IntegrityError as exc:
        raise Conflict("该凭证号已登记", "this credential is already registered there", code="duplicate_credential") from exc
    return credential


def remove_credential(*, actor: Actor, credential: DeviceCredential) -> None:
    actor.require(Perm.PASSAGE_MANAGE, credential.place_path)
    with transaction.atomic():
        audit.record(actor, "device.credential.remove", target=credential,
                     target_label=f"{credential.ref_type}:{credential.ref}",
                     before={"ref_type": credential.ref_type, "ref": credential.ref,
                             "resident": credential.resident_id, "device": credential.device_id})
        DeviceCredential.objects.filter(pk=credential.pk).delete()


# ------------------------------------------------------------------------------------------------ vehicles

def register_vehicle(*, actor: Actor, place: Place, plate: str, owner: Resident | None = None,
                     plate_color: str = "", note: str = "") -> Vehicle:
    actor.require(Perm.PASSAGE_MANAGE, place.path)
    errors = ErrorCollector()
    normalized = normalize_plate(str(plate or ""))
    if normalized is None:
        errors.add("plate", "invalid", "车牌号格式无效", "invalid licence plate")
    if owner is not None and not related(owner.place_path, place.path):
        errors.add("owner_id", "elsewhere", "车主不住在此地点范围内", "the owner does not live in this area")
    if place.status != PlaceStatus.ACTIVE:
        errors.add("place_id", "inactive", "该地点已合并或撤销", "the place has been merged or retired")
    errors.raise_if_any()
    vehicle = Vehicle(place=place, place_path=place.path, plate=normalized, owner=owner,
                      plate_color=clean_text(plate_color)[:16], note=clean_text(note)[:200])
    try:
        with transaction.atomic():
            vehicle.save(force_insert=True)
            audit.record(actor, "device.vehicle.register", target=vehicle,
                         after={"plate": vehicle.plate, "owner": owner and owner.pk, "place": place.pk})
    except IntegrityError as exc:
        raise Conflict("该车牌已在此地点登记", "this plate is already registered here", code="duplicate_plate") from exc
    return vehicle


def retire_vehicle(*, actor: Actor, vehicle: Vehicle) -> None:
    actor.require(Perm.PASSAGE_MANAGE, vehicle.place_path)
    with transaction.atomic():
        if Vehicle.objects.filter(pk=vehicle.pk, active=True).update(active=False) != 1:
            raise Conflict("车辆已注销", "the vehicle is already removed", code="retired")
        audit.record(actor, "device.vehicle.retire", target=vehicle, before={"active": True}, after={"active": False})


# ------------------------------------------------------------------------------------------------ visitor passes

def _new_code() -> str:
    return "".join(secrets.choice(PASS_CODE_ALPHABET) for _ in range(PASS_CODE_LENGTH))


def issue_visitor_pass(*, actor: Actor, place: Place, name: str, host: Resident | None = None, plate: str = "",
                       valid_from: dt.datetime | None = None, valid_until: dt.datetime | None = None) -> VisitorPass:
    """A pass for a visitor (and their car) from ``valid_from`` (default now) to ``valid_until`` (default a day
    later), at most 90 days; its code is what the door or the gate is shown."""
    actor.require(Perm.PASSAGE_MANAGE, place.path)
    errors = ErrorCollector()
    name = clean_text(name)
    if not name or len(name) > 60:
        errors.add("name", "required", "请填写访客姓名（不超过 60 字）", "the visitor's name is required (at most 60)")
    normalized = ""
    if plate:
        normalized = normalize_plate(str(plate)) or ""
        if not normalized:
            errors.add("plate", "invalid", "车牌号格式无效", "invalid licence plate")
    start = valid_from or timezone.now()
    end = valid_until or start + dt.timedelta(days=1)
    if end <= start:
        errors.add("valid_until", "before_start", "失效时间须晚于生效时间", "valid_until must be after valid_from")
    elif end - start > dt.timedelta(days=MAX_PASS_DAYS):
        errors.add("valid_until", "too_long", "通行证有效期不能超过 90 天", "a pass is valid for at most 90 days")
    if host is not None and not related(host.place_path, place.path):
        errors.add("host_id", "elsewhere", "被访居民不住在此地点范围内", "the host does not live in this area")
    errors.raise_if_any()
    user = actor.user if actor.user is not None and getattr(actor.user, "pk", None) else None
    for _attempt in range(5):
        visitor_pass = VisitorPass(place=place, place_path=place.path, name=name, host=host, plate=normalized,
                                   code=_new_code(), valid_from=start, valid_until=end, created_by=user)
        try:
            with transaction.atomic():
                visitor_pass.save(force_insert=True)
                audit.record(actor, "device.visitor_pass.issue", target=visitor_pass,
                             after={"name": name, "plate": normalized, "host": host and host.pk,
                                    "valid_from": start, "valid_until": end})
            return visitor_pass
        except IntegrityError:  # the random code was taken: draw again
            continue
    raise Conflict("无法生成访客码，请重试", "no free visitor code was found; try again", code="code_exhausted")


def revoke_visitor_pass(*, actor: Actor, visitor_pass: VisitorPass) -> VisitorPass:
    actor.require(Perm.PASSAGE_MANAGE, visitor_pass.place_path)
    now = timezone.now()
    with transaction.atomic():
        if VisitorPass.objects.filter(pk=visitor_pass.pk, revoked_at__isnull=True).update(revoked_at=now) != 1:
            raise Conflict("通行证已作废", "the pass is already revoked", code="revoked")
        audit.record(actor, "device.visitor_pass.revoke", target=visitor_pass, after={"revoked_at": now})
    visitor_pass.refresh_from_db()
    return visitor_pass


# ------------------------------------------------------------------------------------------------ quarantine

def _store_reprocessed(actor: Actor, item: QuarantinedPayload, result: ParseResult) -> None:
    """Store what the payload now gives. Nothing usable but refusals (the sensor behind the gateway is still not
    registered): the row stays open with the current reason. Otherwise it is done, and members still refused are
    kept as new rows."""
    device = item.device
    outcome = record_device_events(device=device, vendor=device.vendor, source=item.source, events=result.events,
                                   rejects=result.rejects, received_at=item.received_at,
                                   all_from_device=item.source in WHOLE_PAYLOAD_SOURCES, keep_refused=False)
    if outcome.refused and not outcome.stored and not outcome.duplicates:
        current = outcome.refused[0]
        QuarantinedPayload.objects.filter(pk=item.pk).update(
            reason_code=current.reason_code, message_zh=current.message_zh, message_en=current.message_en,
            attempts=F("attempts") + 1)
        after: dict[str, Any] = {"reason": current.reason_code, "stored": 0}
    else:
        kept = QuarantinedPayload.objects.bulk_create(outcome.refused) if outcome.refused else []
        if QuarantinedPayload.objects.filter(pk=item.pk, status=QuarantineStatus.OPEN).update(
                status=QuarantineStatus.REPROCESSED, reprocessed_at=timezone.now(),
                events_stored=len(outcome.stored), attempts=F("attempts") + 1) != 1:
            raise Conflict("该报文已重新处理", "this payload was processed already", code="reprocessed")
        after = {"stored": len(outcome.stored), "duplicates": outcome.duplicates, "quarantined": [q.pk for q in kept]}
    audit.record(actor, "device.quarantine.reprocess", target_type="devices.quarantinedpayload", target_id=item.pk,
                 target_label=item.reason_code, place_path=item.place_path, before={"reason": item.reason_code},
                 after=after)


def reprocess_quarantined(*, actor: Actor, item: QuarantinedPayload) -> QuarantinedPayload:
    """Parse a quarantined payload again (after an adapter was fixed, or the device behind a gateway was
    registered). Parsed: its events are stored as if just received (at the original time) and the row is marked
    reprocessed. Still refused: the row stays open with the current reason. Either way the attempt is audited."""
    actor.require(Perm.DEVICE_MANAGE, item.place_path)
    if not item.reprocessable:
        if item.source == Source.FRIGATE:
            raise Conflict("Frigate 报文不指明发送设备，无法重新处理",
                           "a Frigate message names no sending device: it cannot be processed again",
                           code="not_reprocessable")
        raise Conflict("认证失败的记录没有报文，无法重新处理", "a refused request kept no payload to process",
                       code="not_reprocessable")
    if item.truncated:
        raise Conflict("报文已被截断，无法重新处理", "the payload was truncated and cannot be processed again",
                       code="truncated")
    if item.status != QuarantineStatus.OPEN:
        raise Conflict("该报文已重新处理", "this payload was processed already", code="reprocessed")
    with transaction.atomic():
        try:
            result = parse_payload(item.source, item.device, bytes(item.payload), item.content_type,
                                   received_at=item.received_at, device_ref=item.device_ref)
        except Quarantine as exc:
            QuarantinedPayload.objects.filter(pk=item.pk).update(
                reason_code=exc.reason_code, message_zh=exc.message_zh, message_en=exc.message_en,
                attempts=F("attempts") + 1)
            audit.record(actor, "device.quarantine.reprocess", target_type="devices.quarantinedpayload",
                         target_id=item.pk, target_label=item.reason_code, place_path=item.place_path,
                         before={"reason": item.reason_code}, after={"reason": exc.reason_code, "stored": 0})
        else:
            _store_reprocessed(actor, item, result)
    item.refresh_from_db()
    return item
