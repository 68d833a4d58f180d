"""The demo's stories: events that raise alerts, handled through the alert actions, the sweeps at the demo's
present, the not-seen resident, and bad payloads kept in quarantine."""

from __future__ import annotations

import datetime as dt
import json

from django.db import transaction
from django.utils import timezone

from linli.accounts.models import RoleAssignment
from linli.alerts import actions as alert_actions
from linli.alerts import care
from linli.alerts.models import Alert
from linli.core.actor import Actor
from linli.core.errors import DomainError
from linli.core.permissions import ROLE_PERMISSIONS, Perm, Role
from linli.people.models import Resident, ResidentTag

from ..adapters import NormalizedEvent, Quarantine, State, SubjectKind, SubjectRefType
from ..choices import Source, Vendor
from ..ingest import note_refusal, parse_payload, quarantine_payload, record_device_events, sweep_offline_devices
from ..models import Device
from .history import History
from .registry import Estate, local_time

VISITOR_PLATE = "鄂A7Q3N5"  # the car that blocks the fire lane


class DeviceDemo(History):
    def run(self) -> None:
        for estate in self.estates:
            self._devices(estate)
        self._credentials()
        self._vehicles_and_visitors()
        self._pick_care_people()
        self._history()
        self._alerts()
        self._quarantine()
        self.counts["devices"] = len(self.secrets)

    def _handler(self, place_path: str, roles: tuple[str, ...] = (Role.PROPERTY_STAFF, Role.GRID_WORKER,
                                                                    Role.COMMUNITY_STAFF)) -> Actor:
        """A user who may handle alerts at the place (property staff first), else the system."""
        rows = RoleAssignment.objects.filter(active=True, role__in=roles).select_related("user").order_by("-place__depth",
                                                                                                          "pk")
        for role in roles:
            for row in rows:
                if row.role == role and place_path.startswith(row.place_path or "/") and \
                        Perm.ALERT_HANDLE in ROLE_PERMISSIONS.get(row.role, ()):
                    return Actor.for_user(row.user)
        return self.system

    def _alert(self, device: Device, kind: str) -> Alert | None:
        return Alert.objects.filter(device=device, kind=kind).select_related("place").order_by("-pk").first()

    def _story(self, device: Device, kind: str, events: list[NormalizedEvent]) -> Alert | None:
        self._record(events, processed_at=max(e.occurred_at for e in events) + dt.timedelta(seconds=3))
        alert = self._alert(device, kind)
        if alert is not None:
            self.counts[f"alert:{kind}"] += 1
        return alert

    def _alerts(self) -> None:
        now, minutes = self.now, lambda n: dt.timedelta(minutes=n)
        first, second, third = self._spread()
        yesterday = timezone.localtime(now).date() - dt.timedelta(days=1)

        # A car has stood in the fire lane for twenty minutes: open, escalated by the sweep below.
        camera = first.roles["fire_lane"]
        self._story(camera, "fire_lane", [
            self._event(camera, "camera.fire_lane", now - minutes(22 - n), zone="fire_lane", score=0.84,
                        state=State.START if n == 0 else State.UPDATE, attrs={"stationary_s": 60 * n},
                        subject_kind=SubjectKind.PLATE, subject_ref=VISITOR_PLATE, subject_ref_type=SubjectRefType.PLATE)
            for n in range(0, 19, 2)])
        # Yesterday's fire lane: acknowledged, commented, resolved.
        camera = second.roles["fire_lane"]
        start = local_time(yesterday, 14.2)
        alert = self._story(camera, "fire_lane", [
            self._event(camera, "camera.fire_lane", start + minutes(n), zone="fire_lane", score=0.9,
                        attrs={"stationary_s": 60 * n + 30}) for n in range(0, 8, 2)])
        if alert is not None:
            actor = self._handler(alert.place_path)
            alert_actions.acknowledge_alert(actor=actor, alert=alert, note="已到现场", now=start + minutes(12))
            alert_actions.comment_alert(actor=actor, alert=alert, note="已电话联系车主挪车", now=start + minutes(15))
            alert_actions.resolve_alert(actor=actor, alert=alert, note="车辆已驶离，通道畅通", now=start + minutes(31))
        # The bin station is overflowing: acknowledged, cleaners on their way.
        camera = third.roles["bin"] if third.index != 1 else first.roles["bin"]
        alert = self._story(camera, "bin_overflow", [
            self._event(camera, "camera.bin_overflow", now - minutes(n), zone="bins", score=0.91) for n in (95, 65)])
        if alert is not None:
            actor = self._handler(alert.place_path)
            alert_actions.acknowledge_alert(actor=actor, alert=alert, now=now - minutes(55))
            alert_actions.comment_alert(actor=actor, alert=alert, note="已通知保洁员清运", now=now - minutes(54))
        # Something fell from a facade yesterday: a false alarm.
        camera = first.roles["facade"]
        at = local_time(yesterday, 15.35)
        alert = self._story(camera, "thrown_object", [self._event(camera, "camera.thrown_object", at, score=0.71)])
        if alert is not None:
            alert_actions.mark_false_alarm(actor=self._handler(alert.place_path), alert=alert,
                                           note="回看录像为飘落的树叶", now=at + minutes(9))
        # Smoke in a stairwell two days ago: kitchen fumes, resolved.
        if second.smoke:
            sensor = second.smoke[0]
            at = local_time(yesterday - dt.timedelta(days=1), 18.1)
            alert = self._story(sensor, "smoke_fire", [self._event(sensor, "sensor.smoke", at, value=12.5,
                                                                   unit="%/m", state=State.START)])
            if alert is not None:
                actor = self._handler(alert.place_path)
                alert_actions.acknowledge_alert(actor=actor, alert=alert, now=at + minutes(3))
                alert_actions.resolve_alert(actor=actor, alert=alert, note="邻居厨房油烟，已开窗通风",
                                            now=at + minutes(14))
        # Gas in an elderly resident's kitchen forty minutes ago: open, turned into a repair ticket.
        sensors = [s for e in self.estates for s in e.gas]
        if sensors:
            sensor = sensors[1 % len(sensors)]
            at = now - minutes(40)
            alert = self._story(sensor, "gas_leak", [self._event(sensor, "sensor.gas", at, value=850, unit="ppm",
                                                                 zone="kitchen", state=State.START)])
            if alert is not None:
                self._ticket(alert, at + minutes(6))
        # Wristbands: a fall yesterday (resolved), an SOS now (open, escalated below).
        bands = [b for e in self.estates for b in e.bands]
        if bands:
            band = bands[-1]
            at = local_time(yesterday, 10.4)
            alert = self._story(band, "wristband_emergency", [self._event(band, "wristband.fall", at)])
            if alert is not None and alert.status == "open":
                actor = self._handler(alert.place_path, (Role.GRID_WORKER, Role.COMMUNITY_STAFF))
                alert_actions.acknowledge_alert(actor=actor, alert=alert, note="已电话联系", now=at + minutes(4))
                alert_actions.resolve_alert(actor=actor, alert=alert, note="邻居已扶起老人，无大碍",
                                            now=at + minutes(25))
            band = bands[0]
            self._story(band, "wristband_emergency", [self._event(band, "wristband.sos", now - minutes(12),
                                                                  state=State.START)])
        # Someone in the fire-lane camera's view at two in the night: resolved by the auto-resolve sweep.
        camera = second.roles["fire_lane"]
        self._story(camera, "night_intrusion", [self._event(camera, "camera.intrusion", local_time(timezone.localtime(
            now).date(), 2.2) if timezone.localtime(now).hour >= 3 else local_time(yesterday, 2.2), score=0.77,
                                                            zone="perimeter")])
        # The sweeps of the running system, at the demo's present.
        offline = sweep_offline_devices(now)
        self._process(now)
        self.counts["offline_devices"] = len(offline)
        self.counts["escalated"] = alert_actions.sweep_escalations(now)
        self.counts["auto_resolved"] = alert_actions.sweep_auto_resolve(now)
        if self.not_seen is not None:
            self._not_seen(self.not_seen)

    def _spread(self) -> list[Estate]:
        """Three estates of different communities where possible (祥和苑 first), so every community has alerts."""
        chosen: list[Estate] = []
        for estate in self.estates:
            if len(chosen) < 3 and all(c.place.parent_id != estate.place.parent_id for c in chosen):
                chosen.append(estate)
        return (chosen + [e for e in self.estates if e not in chosen])[:3] if len(chosen) < 3 else chosen

    def _ticket(self, alert: Alert, at: dt.datetime) -> None:
        from linli.tickets.models import Category

        actor = self._handler(alert.place_path, (Role.COMMUNITY_STAFF, Role.PROPERTY_STAFF))
        category = Category.objects.filter(place_path="", code="safety-hazard").first()
        try:
            with transaction.atomic():
                alert_actions.ticket_from_alert(actor=actor, alert=alert, kind="repair", category=category,
                                                description="燃气报警器报警（850 ppm），请上门检查燃气管道和阀门", now=at)
        except DomainError as exc:  # no organisation handles tickets there (seed_demo --no-tickets)
            self.counts[f"ticket_refused:{exc.code}"] += 1
            return
        alert_actions.comment_alert(actor=actor, alert=alert, note="已派燃气维修人员上门，已通知紧急联系人",
                                    now=at + dt.timedelta(minutes=1))
        self.counts["alert_tickets"] += 1

    def _not_seen(self, resident: Resident) -> None:
        from ..models import PersonPresence

        presence = PersonPresence.objects.filter(resident=resident).first()
        since = presence.last_seen_at if presence else self.now - dt.timedelta(hours=30)
        tag = ResidentTag.objects.filter(resident=resident, tag__code=care.TAG, until__isnull=True).first()
        hours = care.threshold_hours(tag.attrs if tag else {})
        if care.raise_not_seen(resident, since, hours, self.now) is not None:
            self.counts["alert:care.not_seen"] += 1

    def _quarantine(self) -> None:
        """Bad payloads through the functions the endpoints and the MQTT consumer use."""
        from ..mqtt import Message, MqttConfig, store_batch

        now = self.now
        generic = next(e for e in self.estates if e.vendor == Vendor.GENERIC) if any(
            e.vendor == Vendor.GENERIC for e in self.estates) else self.estates[0]
        gateway = generic.roles["gateway"]
        bad = [(gateway, Source.GENERIC, b'{"kind": "sensor.smoke", "time": "2026-04-23T08:00:00+08:00", ',
                "application/json", 50)]
        hik = next((e for e in self.estates if e.vendor == Vendor.HIKVISION), None)
        if hik is not None and hik.barriers:
            bad.append((hik.barriers[0], Source.HIKVISION, b"<EventNotificationAlert><eventType>ANPR</eventType>",
                        "application/xml", 20))
        for device, source, body, content_type, ago in bad:
            at = now - dt.timedelta(minutes=ago)
            try:
                parse_payload(source, device, body, content_type, received_at=at)
            except Quarantine as exc:
                quarantine_payload(device=device, source=source, body=body, content_type=content_type, error=exc,
                                   received_at=at, remote_ip="10.12.3.77")
                self.counts["quarantined"] += 1
        batch = json.dumps({"device": gateway.serial, "events": [
            {"kind": "device.low_battery", "time": timezone.localtime(now - dt.timedelta(hours=3)).isoformat(),
             "value": 18},
            {"kind": "sensor.gas", "time": "2026-04-23T07:00:00", "value": 30}]}).encode()
        result = parse_payload(Source.GENERIC, gateway, batch, "application/json", received_at=now)
        outcome = record_device_events(device=gateway, vendor=gateway.vendor, source=Source.GENERIC,
                                       events=result.events, rejects=result.rejects,
                                       received_at=now - dt.timedelta(hours=3), remote_ip="10.12.3.77")
        self.counts["quarantined"] += len(outcome.quarantined)
        self._process(None)
        if note_refusal(device=generic.roles["fire_lane"], device_ref=generic.roles["fire_lane"].serial,
                        reason="auth_failed", source=Source.AUTH, content_type="application/json", size=312,
                        received_at=now - dt.timedelta(minutes=35), remote_ip="10.12.9.4"):
            self.counts["quarantined"] += 1
        config = MqttConfig(host="", port=0, tls=False, username=None, password=None, group="", client_id="",
                            generic_prefix="linli", frigate_prefix="frigate", session_expiry=0)
        frigate = [Message("frigate/events", b'{"type": "update", "before": {}, "after": ', 0, 0),
                   Message("frigate/events", json.dumps({"type": "new", "before": {}, "after": {
                       "id": "1776931200.5-q1x9", "camera": "east_wall_cam", "label": "person", "score": 0.8,
                       "top_score": 0.82, "start_time": (now - dt.timedelta(hours=2)).timestamp(),
                       "end_time": None, "current_zones": [], "entered_zones": [], "stationary": False,
                       "false_positive": False}}).encode(), 0, 0)]
        self.counts["quarantined"] += store_batch(frigate, config, now - dt.timedelta(hours=2)).quarantined

