"""The demo's history: passages at doors and gates over a few days, written through record_device_events and
processed by the pipeline."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from linli.people.models import Resident

from .. import pipeline
from ..adapters import Direction, EventKind, NormalizedEvent, SubjectKind, SubjectRefType
from ..choices import Source, Vendor
from ..ingest import record_device_events
from ..models import Device, PendingBatch
from ..simulate.plan import DEMO_ROLE
from .registry import Estate, Registry, local_time

SOURCES = {Vendor.HIKVISION: Source.HIKVISION, Vendor.DAHUA: Source.DAHUA}


class History(Registry):
    def _event(self, device: Device, kind: str, at: dt.datetime, **fields: Any) -> NormalizedEvent:
        self.serial_no += 1
        return NormalizedEvent(vendor=device.vendor, kind=EventKind(kind), device_ref=device.serial, occurred_at=at,
                               occurred_at_raw=timezone.localtime(at).isoformat(),
                               external_id=f"demo:{device.serial}:{self.serial_no}", **fields)

    def _passage(self, device: Device, resident: Resident, at: dt.datetime, direction: Direction) -> NormalizedEvent:
        card = self.cards.get(resident.pk)
        if card and self.rng.random() < 0.3:
            kind, ref, ref_type = "passage.card", card, SubjectRefType.CARD_NO
        else:
            kind, ref, ref_type = "passage.face", f"Y{resident.pk:07d}", SubjectRefType.EMPLOYEE_NO
        return self._event(device, kind, at, subject_kind=SubjectKind.RESIDENT, subject_ref=ref,
                           subject_ref_type=ref_type, direction=direction,
                           score=round(self.rng.uniform(0.86, 0.99), 2) if kind == "passage.face" else None)

    def _trip(self, out: list[NormalizedEvent], estate: Estate, resident: Resident, leave: dt.datetime,
              back: dt.datetime) -> None:
        door = estate.doors.get(resident.place.parent_id)
        if door is None:
            return
        gate = self.rng.choice(estate.gate_doors) if estate.gate_doors and self.rng.random() < 0.4 else None
        for at, direction in ((leave, Direction.OUT), (back, Direction.IN)):
            if at >= self.now - dt.timedelta(minutes=1):
                continue
            out.append(self._passage(door, resident, at, direction))
            if gate is not None:
                shift = dt.timedelta(minutes=self.rng.uniform(1, 4))
                when = at + shift if direction == Direction.OUT else at - shift
                if when < self.now - dt.timedelta(minutes=1):
                    out.append(self._passage(gate, resident, when, direction))

    def _day(self, estate: Estate, day: dt.date, last: bool) -> list[NormalizedEvent]:
        rng, events = self.rng, []
        for resident, age in estate.people:
            if age < 12 or resident == self.silent:
                continue
            if resident == self.not_seen:
                if day < timezone.localtime(self.now - dt.timedelta(hours=30)).date():
                    self._trip(events, estate, resident, local_time(day, 8.5), local_time(day, 10.0))
                continue
            alone = resident.pk in self.alone
            if rng.random() > (0.97 if alone else 0.85) and not (alone and last):
                continue
            if age < 23:
                leave, back = rng.uniform(6.8, 7.6), rng.uniform(16.5, 18.0)
            elif age < 60:
                leave, back = rng.gauss(7.75, 0.4), rng.gauss(18.5, 0.45)
            else:
                leave = rng.uniform(8.0, 10.5)
                back = leave + rng.uniform(0.8, 2.5)
            if alone and last:  # seen within the day: the care monitor stays quiet after the demo loads
                leave = min(leave, 9.0)
                back = min(back, leave + 2)
            self._trip(events, estate, resident, local_time(day, leave), local_time(day, back))
        for _, plate, _owner in (p for p in self.plates if p[0] is estate):
            if rng.random() > 0.8 or not estate.barriers:
                continue
            gate = rng.choice(estate.barriers)
            for hours, direction in ((rng.gauss(7.8, 0.4), Direction.OUT), (rng.gauss(18.6, 0.5), Direction.IN)):
                at = local_time(day, hours)
                if at < self.now - dt.timedelta(minutes=1):
                    events.append(self._event(gate, "passage.plate", at, subject_kind=SubjectKind.PLATE,
                                              subject_ref=plate, subject_ref_type=SubjectRefType.PLATE,
                                              direction=direction, score=round(rng.uniform(0.9, 0.99), 2)))
        for _, code in (p for p in self.passes if p[0] is estate):
            at = local_time(day, rng.uniform(9, 16))
            if estate.gate_doors and at < self.now:
                events.append(self._event(estate.gate_doors[0], "passage.qr", at, subject_kind=SubjectKind.VISITOR,
                                          subject_ref=code, subject_ref_type=SubjectRefType.VISITOR_PASS,
                                          direction=Direction.IN))
        return events

    def _record(self, events: Iterable[NormalizedEvent], processed_at: dt.datetime | None = None) -> int:
        """Store events per device through the ingestion path, then process the pending batches."""
        by_device: dict[str, list[NormalizedEvent]] = defaultdict(list)
        for event in events:
            by_device[event.device_ref].append(event)
        devices = {d.serial: d for d in Device.objects.filter(serial__in=by_device, pk__in=self.secrets)}
        stored = 0
        for serial, group in sorted(by_device.items()):
            device = devices[serial]
            group.sort(key=lambda e: e.occurred_at)
            for start in range(0, len(group), 1000):
                chunk = group[start:start + 1000]
                outcome = record_device_events(device=device, vendor=device.vendor,
                                               source=SOURCES.get(device.vendor, Source.GENERIC), events=chunk,
                                               received_at=chunk[-1].occurred_at + dt.timedelta(seconds=2),
                                               all_from_device=True)
                stored += len(outcome.stored)
        self._process(processed_at)
        return stored

    def _process(self, at: dt.datetime | None) -> None:
        """Run the pipeline on the pending batches, alert history stamped with the time they were processed in the
        story (None: the present)."""
        for pk in PendingBatch.objects.order_by("pk").values_list("pk", flat=True):
            pipeline.process_batch(pk, now=at)

    def _history(self) -> None:
        today = timezone.localtime(self.now).date()
        events: list[NormalizedEvent] = []
        for back in range(self.days, -1, -1):
            day = today - dt.timedelta(days=back)
            for estate in self.estates:
                events += self._day(estate, day, last=back <= 1)
        self.counts["passages"] = self._record(events)
        beats = []
        for estate in self.estates:
            for device in self._all(estate):
                if device.attrs[DEMO_ROLE] in ("spare",) or device in estate.gas[3:] or device == estate.roles["bin"]:
                    continue
                beats.append(self._event(device, "device.heartbeat", self.now - dt.timedelta(
                    seconds=self.rng.uniform(30, 900))))
            if estate.index == 1:  # this estate's bin camera fell silent two days ago
                beats.append(self._event(estate.roles["bin"], "device.heartbeat", self.now - dt.timedelta(days=2)))
            else:
                beats.append(self._event(estate.roles["bin"], "device.heartbeat", self.now - dt.timedelta(minutes=3)))
        self._record(beats)

    @staticmethod
    def _all(estate: Estate) -> list[Device]:
        return [*estate.doors.values(), *estate.gate_doors, *estate.barriers, *estate.roles.values(), *estate.smoke,
                *estate.gas, *estate.bands]

