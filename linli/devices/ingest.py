"""The write path of device data, whatever the transport: parsed events become rows, bad payloads become
quarantine rows, signs of life move devices online, a periodic sweep moves silent devices offline.

``record_device_events`` is the one entry point for parsed payloads (HTTP today, MQTT later). It stores pictures,
resolves subjects for the whole batch, then in one transaction: marks the devices seen, inserts the events in a
batch (linli.devices.storage), keeps the rejected members in quarantine and writes a PendingBatch whose task runs
linli.devices.pipeline.after_store once the transaction commits. Answering the device does not wait for that.

Device data is not audited entry by entry: the event table is itself the record (who sent what, when). Refused
requests leave a rate-limited quarantine note instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .adapters import (
    LIVENESS_KINDS,
    EventKind,
    NormalizedEvent,
    ParseResult,
    Quarantine,
    Reject,
    parse_dahua_upload,
    parse_generic,
    parse_hikvision,
)
from .choices import DeviceStatus, Source
from .media import store_media
from .models import Device, PendingBatch, QuarantinedPayload
from .pipeline import summarize
from .resolve import resolve_subjects
from .storage import EventRow, lock_event_inserts, store_events, with_ids

QUARANTINE_MAX_BYTES = 1024 * 1024
NOTE_INTERVAL = dt.timedelta(minutes=10)  # at most one note per device and reason in this time
UNKNOWN_NOTES_PER_INTERVAL = 100  # notes about unregistered devices, all of them together
SEEN_WRITE_INTERVAL = dt.timedelta(seconds=5)  # an online device's last-seen time is rewritten at most this often
MEMBER_SOURCES = {Source.GENERIC: Source.GENERIC_MEMBER, Source.DAHUA: Source.DAHUA_MEMBER}

REASONS: dict[str, tuple[str, str]] = {
    "credentials_required": ("请以 HTTP Basic 提供设备序列号和密钥", "send the device serial and secret (HTTP Basic)"),
    "auth_failed": ("设备密钥错误，请求已拒绝", "wrong device secret: the request was refused"),
    "unknown_device": ("设备未登记或已停用", "the device is not registered (or retired)"),
    "not_own_device": ("该设备未登记在此网关之下", "the device is not registered under this gateway"),
    "device_disabled": ("设备已被禁用", "the device is disabled"),
    "body_too_large": ("报文过大", "the payload is too large"),
}


@dataclass
class IngestOutcome:
    stored: list[int]  # ids of the new event rows
    duplicates: int  # events whose idempotency key was stored before
    quarantined: list[int]  # ids of the quarantine rows for rejected members
    liveness: int  # heartbeats and online/offline notices (not stored as events)
    refused: list[QuarantinedPayload] = field(default_factory=list)  # unsaved, when the caller keeps them itself


def refusal(reason: str) -> Quarantine:
    zh, en = REASONS[reason]
    return Quarantine(reason, zh, en)


# ------------------------------------------------------------------------------------------------ parsing

def parse_payload(source: str, device: Device, body: bytes, content_type: str, *, received_at: dt.datetime,
                  device_ref: str = "") -> ParseResult:
    """Parse a payload the way its endpoint does (also when a quarantined payload is processed again)."""
    if source == Source.GENERIC:
        return parse_generic(body, content_type, default_device=device.serial)
    if source == Source.GENERIC_MEMBER:
        return parse_generic(body, "application/json", default_device=device_ref or device.serial)
    if source == Source.HIKVISION:
        return parse_hikvision(body, content_type)
    if source == Source.DAHUA:
        return parse_dahua_upload(body, content_type, device_ref=device.serial, received_at=received_at)
    if source == Source.DAHUA_MEMBER:
        return parse_dahua_upload(b'{"Events":[' + body + b"]}", "application/json", device_ref=device.serial,
                                  received_at=received_at)
    raise ValueError(f"payloads from {source!r} cannot be parsed")


# ------------------------------------------------------------------------------------------------ recording

@dataclass
class Submission:
    """One sender's parsed payload, for ``record_submissions``."""

    device: Device | None  # the authenticated sender, or None (a broker: devices looked up by vendor and serial)
    vendor: str
    source: str
    events: Sequence[NormalizedEvent]
    rejects: Sequence[Reject] = ()
    all_from_device: bool = False
    remote_ip: str | None = None


def record_device_events(*, device: Device | None, vendor: str, source: str, events: Sequence[NormalizedEvent],
                         rejects: Sequence[Reject] = (), received_at: dt.datetime, all_from_device: bool = False,
                         remote_ip: str | None = None, keep_refused: bool = True) -> IngestOutcome:
    """Store a parsed payload. ``device`` is the authenticated sender (None when the transport authenticates no
    device, e.g. a broker: then every event's device is looked up by ``vendor`` and its serial).

    With ``all_from_device`` every event belongs to the sender (Hikvision, Dahua); otherwise an event naming
    another device is accepted only for a device registered under the sender (a gateway's sensors). Refused
    members are kept in quarantine, or with ``keep_refused=False`` returned unsaved in ``refused``."""
    return record_submissions([Submission(device=device, vendor=vendor, source=source, events=events, rejects=rejects,
                                          all_from_device=all_from_device, remote_ip=remote_ip)],
                              received_at=received_at, keep_refused=keep_refused)


def record_submissions(submissions: Sequence[Submission], *, received_at: dt.datetime,
                       keep_refused: bool = True) -> IngestOutcome:
    """Store the payloads of several senders (an MQTT batch) as one: subjects resolved together, one transaction,
    one batch insert and one PendingBatch, each sender's events checked as ``record_device_events`` checks them."""
    refused: list[QuarantinedPayload] = []
    seen: dict[int, Device] = {}
    offline: dict[int, tuple[Device, dt.datetime]] = {}
    wearers: dict[int, int] = {}
    rows: list[EventRow] = []
    liveness = 0
    for sub in submissions:
        liveness += _prepare(sub, received_at, refused, seen, offline, wearers, rows)
    for pk in offline:
        seen.pop(pk, None)
    resolve_subjects(rows, wearers)
    reported = len(rows)
    with transaction.atomic(savepoint=False):  # a caller's transaction (an MQTT batch) needs no savepoint
        inserted = store_events(rows)
        # After the batch's rows: the device rows these lock stay locked only until the commit (another ingest
        # process, and the pipeline's last-event times, wait for them). Their own rows (a device back online or
        # announced offline) are few and rare.
        changes = mark_seen(seen.values(), received_at) + _mark_announced_offline(offline.values(), received_at)
        if changes:
            inserted += store_events(changes)
            rows += changes
        quarantined = QuarantinedPayload.objects.bulk_create(refused) if refused and keep_refused else []
        stored = enqueue_processing(inserted)
    transitions = len(rows) - reported
    return IngestOutcome(stored=stored, duplicates=reported + transitions - len(stored),
                         quarantined=[q.pk for q in quarantined], liveness=liveness,
                         refused=[] if keep_refused else refused)


def _prepare(sub: Submission, received_at: dt.datetime, refused: list[QuarantinedPayload], seen: dict[int, Device],
             offline: dict[int, tuple[Device, dt.datetime]], wearers: dict[int, int], rows: list[EventRow]) -> int:
    """One sender's events: rows to insert, devices seen or announced offline, refused members. Returns the number
    of liveness events."""
    device = sub.device
    member_source = MEMBER_SOURCES.get(sub.source, sub.source)
    own = device if sub.all_from_device else None
    targets = {} if own is not None else _targets(device, sub.vendor, {e.device_ref for e in sub.events})
    for d in [device, *targets.values()]:
        if isinstance(d, Device) and d.wearer_id:
            wearers[d.pk] = d.wearer_id
    refused += [reject_row(device, member_source, device.serial if device else "", r.reason_code, r.message_zh,
                            r.message_en, r.raw, received_at, sub.remote_ip) for r in sub.rejects]
    if device is not None:
        seen[device.pk] = device
    liveness = 0
    for event in sub.events:
        target = own or targets[event.device_ref]
        if isinstance(target, Quarantine):
            refused.append(reject_row(device, member_source, event.device_ref, target.reason_code,
                                       target.message_zh, target.message_en, event.raw, received_at, sub.remote_ip))
            continue
        if event.kind in LIVENESS_KINDS:
            liveness += 1
            if event.kind == EventKind.DEVICE_OFFLINE:
                offline[target.pk] = (target, event.occurred_at)
                continue
        seen[target.id] = target  # id, not pk: the property costs more than the rest of the line
        if event.kind not in LIVENESS_KINDS:
            rows.append(_event_row(target, event, received_at))
    return liveness


def _targets(device: Device | None, vendor: str, refs: set[str]) -> dict[str, Device | Quarantine]:
    """The registered device each ref names, or why its events are refused."""
    found: dict[str, Device | Quarantine] = {}
    others = set(refs)
    if device is not None and device.serial in refs:
        found[device.serial] = device
        others.discard(device.serial)
    if not others:
        return found
    query = Device.objects.filter(serial__in=others, retired_at__isnull=True)
    if device is None:
        query = query.filter(vendor=vendor)
    else:
        query = query.filter(gateway=device)
    by_serial = {d.serial: d for d in query}
    for ref in others:
        target = by_serial.get(ref)
        if target is None:
            found[ref] = refusal("unknown_device" if device is None else "not_own_device")
        elif not target.enabled:
            found[ref] = refusal("device_disabled")
        else:
            found[ref] = target
    return found


def _event_row(device: Device, event: NormalizedEvent, received_at: dt.datetime) -> EventRow:
    media = store_media(device.pk, event.external_id, event.occurred_at, event.media) if event.media else []
    # Positional, in EventRow's field order (keyword arguments cost twice as much for 22 fields), and the members'
    # values as _value_ (Enum.value is a property): this runs for every event stored
    return EventRow(
        device.id, device.place_path, event.kind._value_, event.occurred_at, event.occurred_at_raw[:64], received_at,
        event.external_id, event.subject_kind._value_, event.subject_ref, event.subject_ref_type._value_,
        None, None, None,  # resident, vehicle, visitor: resolve_subjects fills them in
        event.score, event.value, event.unit, event.zone, event.direction._value_, event.state._value_,
        dict(event.attrs), media, event.raw,
    )


_inline_batches: ContextVar[list[int] | None] = ContextVar("linli_inline_batches", default=None)


@contextmanager
def processing_inline() -> Iterator[list[int]]:
    """Inside this block stored batches are not enqueued: their ids are collected for the caller, which processes
    them itself right after the commit (``linli ingest --after-store inline``: no queue hop)."""
    ids: list[int] = []
    token = _inline_batches.set(ids)
    try:
        yield ids
    finally:
        _inline_batches.reset(token)


def enqueue_processing(inserted: Sequence[tuple[int, EventRow]]) -> list[int]:
    """A PendingBatch row for rows just inserted (linli.devices.storage.store_events) in the caller's transaction,
    with their summary for the pipeline, and its task once the transaction commits (or, inside
    ``processing_inline``, its id for the caller). Returns the event ids."""
    if not inserted:
        return []
    event_ids = [pk for pk, _ in inserted]
    # the ids travel in the summary only (its ids by kind): a second list of them cost the database more to parse
    # and compress than the rest of the row
    batch = PendingBatch.objects.create(summary=summarize(inserted).dumps())
    collected = _inline_batches.get()
    if collected is not None:
        collected.append(batch.pk)
        return event_ids
    from .tasks import process_event_batch

    transaction.on_commit(lambda: process_event_batch(batch.pk))
    return event_ids


# ------------------------------------------------------------------------------------------------ liveness

def _liveness_row(device: Device, kind: EventKind, key: str, occurred_at: dt.datetime, received_at: dt.datetime,
                  attrs: dict) -> EventRow:
    return EventRow(device_id=device.pk, place_path=device.place_path, kind=kind.value, occurred_at=occurred_at,
                    occurred_at_raw="linli", received_at=received_at, external_id=f"linli:{key}", attrs=attrs)


def mark_seen(devices: Iterable[Device], now: dt.datetime) -> list[EventRow]:
    """The devices are alive at ``now``: online, and offline only after their own silence threshold. A device that
    was offline comes back with a ``device.online`` event (the row is returned, to be inserted by the caller)."""
    rows = []
    groups: dict[int, list[int]] = {}
    for device in devices:
        stale_at = now + dt.timedelta(minutes=device.offline_after)
        if device.status == DeviceStatus.OFFLINE and Device.objects.filter(
                pk=device.pk, status=DeviceStatus.OFFLINE).update(
                status=DeviceStatus.ONLINE, last_seen_at=now, stale_at=stale_at) == 1:
            rows.append(_liveness_row(device, EventKind.DEVICE_ONLINE, f"online:{device.pk}:{now.isoformat()}", now,
                                      now, {"offline_since": device.stale_at and device.stale_at.isoformat()}))
            continue
        groups.setdefault(device.offline_after, []).append(device.pk)
    for minutes, ids in groups.items():
        due = with_ids(Device.objects.all(), ids).filter(
            Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - SEEN_WRITE_INTERVAL) | ~Q(status=DeviceStatus.ONLINE))
        if connection.vendor == "postgresql":
            # Lock the rows in id order first, as the pipeline's touch_devices does: two transactions writing the
            # same devices (two ingest processes, or storing and processing) then wait for each other instead of
            # deadlocking. NO KEY UPDATE, as the UPDATE itself takes: it does not conflict with the key-share locks
            # that inserting events (foreign keys to the device) holds.
            locked = list(due.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))
            if not locked:
                continue
            due = with_ids(Device.objects.all(), locked)
        due.update(status=DeviceStatus.ONLINE, last_seen_at=now, stale_at=now + dt.timedelta(minutes=minutes))
    return rows


def _mark_announced_offline(announced: Iterable[tuple[Device, dt.datetime]], now: dt.datetime) -> list[EventRow]:
    rows = []
    for device, at in announced:
        if Device.objects.filter(pk=device.pk).exclude(status=DeviceStatus.OFFLINE).update(
                status=DeviceStatus.OFFLINE) == 1:
            rows.append(_liveness_row(device, EventKind.DEVICE_OFFLINE, f"offline:{device.pk}:{at.isoformat()}", at,
                                      now, {"reason": "announced"}))
    return rows


def sweep_offline_devices(now: dt.datetime | None = None) -> list[int]:
    """Devices silent past their threshold go offline, each with a ``device.offline`` event. Computed from stored
    times only, so a restart loses nothing; the event's key is the silence it reports, so it is stored once."""
    now = now or timezone.now()
    stale = Device.objects.filter(status=DeviceStatus.ONLINE, stale_at__lt=now, enabled=True,
                                  retired_at__isnull=True)
    rows = []
    with transaction.atomic():
        lock_event_inserts()  # before the device rows: ingest takes the two in this order
        for device in stale.only("pk", "place_path", "stale_at", "last_seen_at"):
            if Device.objects.filter(pk=device.pk, status=DeviceStatus.ONLINE, stale_at=device.stale_at).update(
                    status=DeviceStatus.OFFLINE) == 1:
                last_seen = device.last_seen_at.isoformat() if device.last_seen_at else ""
                rows.append(_liveness_row(device, EventKind.DEVICE_OFFLINE, f"offline:{device.pk}:{last_seen}",
                                          device.stale_at, now, {"reason": "silent", "last_seen_at": last_seen}))
        return enqueue_processing(store_events(rows))


# ------------------------------------------------------------------------------------------------ quarantine

def reject_row(device: Device | None, source: str, device_ref: str, reason: str, zh: str, en: str, raw: str,
                received_at: dt.datetime, remote_ip: str | None) -> QuarantinedPayload:
    data = raw.encode("utf-8", "replace")
    return quarantine_row(device=device, source=source, device_ref=device_ref, reason_code=reason, message_zh=zh,
                          message_en=en, content_type="application/json", payload=data, size=len(data),
                          received_at=received_at, remote_ip=remote_ip)


def quarantine_row(*, device: Device | None, source: str, device_ref: str, reason_code: str, message_zh: str,
                   message_en: str, content_type: str, payload: bytes, size: int, received_at: dt.datetime,
                   remote_ip: str | None) -> QuarantinedPayload:
    return QuarantinedPayload(
        device=device, place_path=device.place_path if device is not None else "", received_at=received_at,
        source=source, device_ref=device_ref[:64], reason_code=reason_code[:40], message_zh=message_zh,
        message_en=message_en, content_type=content_type[:200], size=size, payload=payload[:QUARANTINE_MAX_BYTES],
        truncated=len(payload) > QUARANTINE_MAX_BYTES, remote_ip=remote_ip,
    )


def quarantine_payload(*, device: Device, source: str, body: bytes, content_type: str, error: Quarantine,
                       received_at: dt.datetime, remote_ip: str | None = None) -> QuarantinedPayload:
    """Keep a payload that cannot be used at all, with the reason."""
    row = quarantine_row(device=device, source=source, device_ref=device.serial, reason_code=error.reason_code,
                         message_zh=error.message_zh, message_en=error.message_en, content_type=content_type,
                         payload=body, size=len(body), received_at=received_at, remote_ip=remote_ip)
    row.save(force_insert=True)
    return row


def note_refusal(*, device: Device | None, device_ref: str, reason: str, source: str, content_type: str, size: int,
                 received_at: dt.datetime, remote_ip: str | None) -> QuarantinedPayload | None:
    """A note (without the body) that a request was refused: at most one per device and reason every ten minutes,
    and for unregistered devices one per claimed name and a hundred in all, so a flood writes almost nothing."""
    recent = QuarantinedPayload.objects.filter(reason_code=reason, received_at__gte=received_at - NOTE_INTERVAL)
    if device is not None:
        if recent.filter(device=device).exists():
            return None
    else:
        anonymous = recent.filter(device__isnull=True)
        if anonymous.filter(device_ref=device_ref[:64]).exists() or anonymous.count() >= UNKNOWN_NOTES_PER_INTERVAL:
            return None
    zh, en = REASONS[reason]
    row = quarantine_row(device=device, source=source, device_ref=device_ref, reason_code=reason, message_zh=zh,
                         message_en=en, content_type=content_type, payload=b"", size=size, received_at=received_at,
                         remote_ip=remote_ip)
    row.save(force_insert=True)
    return row
