"""The devices and alerts demo: devices across the estates with vendors and states, the shipped rules, a history
of passages that set residents' last-seen times, alerts in every state made through the actions, quarantined
payloads, the simulator's file, all scoped to their communities and the same for the same seed."""

from __future__ import annotations

import datetime as dt
import stat
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.alerts.choices import NOT_SEEN
from linli.alerts.defaults import DEFAULT_RULES
from linli.alerts.models import Alert, AlertEvent, Rule
from linli.alerts.queries import visible_alerts
from linli.core.actor import Actor
from linli.demo.seed import seed_demo
from linli.devices import keys
from linli.devices.demo import seed_devices
from linli.devices.models import Device, DeviceEvent, PendingBatch, PersonPresence, QuarantinedPayload
from linli.devices.queries import visible_devices
from linli.devices.simulate import read_plan
from linli.places.models import Place
from linli.tickets.demo import seed_tickets
from linli.tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=timezone.get_default_timezone())


def _actor(username: str) -> Actor:
    return Actor.for_user(get_user_model().objects.get(username=username))


@pytest.fixture
def demo(tmp_path):
    assert seed_demo(households=60).created
    seed_tickets(seed=7, per_community=4, now=NOW - dt.timedelta(hours=2))
    report = seed_devices(seed=11, now=NOW, plan_path=tmp_path / "simulator.json")
    assert report.status == "created", report.message
    return report


def test_given_the_demo_when_seeded_then_every_estate_has_its_devices_with_vendors_states_and_the_nine_rules(demo):
    estates = Place.objects.filter(kind="estate", status="active")
    assert estates.count() == 7
    for estate in estates:
        kinds = Counter(Device.objects.filter(place_path__startswith=estate.path).values_list("kind", flat=True))
        entrances = Place.objects.filter(kind="entrance", status="active", path__startswith=estate.path).count()
        assert kinds["face_terminal"] >= entrances + 1, estate.name  # a door per entrance and the estate gate
        assert kinds["barrier_gate"] >= 1 and kinds["ai_camera"] >= 3 and kinds["sensor_gateway"] == 1
        assert kinds["smoke_sensor"] >= 1, estate.name
    gas = Device.objects.filter(kind="gas_sensor").select_related("place")
    assert gas.exists() and all(d.place.kind == "dwelling" for d in gas)  # in homes of elderly people living alone
    assert set(Device.objects.values_list("vendor", flat=True)) == {"hikvision", "dahua", "generic", "frigate"}
    assert set(Device.objects.values_list("kind", flat=True)) == {
        "face_terminal", "barrier_gate", "ai_camera", "nvr", "sensor_gateway", "wristband", "gas_sensor",
        "smoke_sensor"}
    states = Counter(Device.objects.values_list("status", flat=True))
    assert states["online"] > 0.8 * sum(states.values()) and states["offline"] == 1 and states["unknown"] >= 1
    assert not Device.objects.filter(longitude__isnull=True).exists()
    for band in Device.objects.filter(kind="wristband").select_related("wearer"):
        assert band.wearer.tags.filter(tag__code="elderly_alone").exists() and band.place_path == band.wearer.place_path
    assert sorted(Rule.objects.filter(place_path="").values_list("code", flat=True)) == sorted(
        r["code"] for r in DEFAULT_RULES)
    assert demo.counts["devices"] == Device.objects.count()


def test_given_the_demo_then_passages_set_last_seen_times_and_resolve_to_residents_vehicles_and_visitors(demo):
    passages = DeviceEvent.objects.filter(kind__startswith="passage.")
    assert passages.count() == demo.counts["passages"] > 300
    assert not passages.filter(occurred_at__gt=NOW).exists()
    assert not passages.filter(kind__in=["passage.face", "passage.card"], resident__isnull=True).exists()
    assert passages.filter(kind="passage.plate", vehicle__isnull=False).exists()
    assert passages.filter(kind="passage.qr", visitor__isnull=False).exists()
    latest = {r: at for r, at in passages.filter(resident__isnull=False).order_by("occurred_at")
              .values_list("resident_id", "occurred_at")}
    presence = dict(PersonPresence.objects.values_list("resident_id", "last_seen_at"))
    assert presence == latest
    assert PendingBatch.objects.count() == 0  # every stored batch went through the pipeline


def test_given_the_demo_then_alerts_exist_in_every_state_with_history_comments_and_a_ticket(demo):
    alerts = Alert.objects.all()
    assert set(alerts.values_list("status", flat=True)) == {"open", "acknowledged", "resolved", "false_alarm"}
    assert alerts.filter(escalation_level__gte=1, status="open").exists()
    with_ticket = alerts.get(ticket__isnull=False)
    assert with_ticket.kind == "gas_leak" and Ticket.objects.get(pk=with_ticket.ticket_id).channel == "alert"
    assert AlertEvent.objects.filter(kind="comment").count() >= 3
    kinds = set(alerts.values_list("kind", flat=True))
    assert {"fire_lane", "bin_overflow", "thrown_object", "smoke_fire", "gas_leak", "wristband_emergency",
            "night_intrusion", "device_offline", NOT_SEEN} <= kinds
    assert alerts.get(kind="device_offline").device.status == "offline"
    night = alerts.get(kind="night_intrusion")
    assert night.status == "resolved" and night.history.filter(kind="resolved", actor__isnull=True).exists()
    for alert in alerts.exclude(status="open"):  # each transition was made by a person, after the alert opened
        steps = list(alert.history.order_by("at", "pk").values_list("kind", "at"))
        assert steps[0][0] == "opened" and all(at >= steps[0][1] for _, at in steps)
    care = alerts.get(kind=NOT_SEEN)
    assert care.status == "open" and care.resident.tags.filter(tag__code="elderly_alone").exists()
    seen = PersonPresence.objects.get(resident=care.resident).last_seen_at
    assert NOW - seen > dt.timedelta(hours=24) and care.attrs["since"] == seen.isoformat()
    assert not alerts.filter(first_seen_at__gt=NOW).exists()


def test_given_the_demo_then_devices_and_alerts_are_scoped_to_their_communities(demo):
    meiyuan = Place.objects.get(kind="community", name="梅园社区").path
    guihua = Place.objects.get(kind="community", name="桂花社区").path
    for username, own, other in (("community", meiyuan, guihua), ("community2", guihua, meiyuan)):
        actor = _actor(username)
        mine = visible_alerts(actor)
        assert mine.exists() and all(p.startswith(own) for p in mine.values_list("place_path", flat=True))
        assert Alert.objects.filter(place_path__startswith=other).exists()
        devices = visible_devices(actor)
        assert devices.exists() and not devices.filter(place_path__startswith=other).exists()
    assert Alert.objects.filter(place_path__startswith=meiyuan).exists()
    for alert in Alert.objects.select_related("device"):
        assert alert.device is None or alert.place_path == alert.device.place_path


def test_given_the_demo_then_bad_payloads_are_quarantined_and_frigate_rows_show_their_source(demo):
    rows = QuarantinedPayload.objects.all()
    assert set(rows.values_list("source", flat=True)) == {"generic", "generic.member", "hikvision", "auth", "frigate"}
    assert rows.count() == demo.counts["quarantined"]
    frigate = rows.filter(source="frigate").order_by("pk").first()
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    page = client.get(reverse("devices:quarantine_detail", args=[frigate.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    assert "Frigate（MQTT）" in page.content.decode() and "重新处理" not in page.content.decode()


def test_given_the_demo_then_the_simulator_file_is_private_and_its_secrets_open_the_devices(demo):
    path = demo.plan_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    plan = read_plan(path)
    devices = {d.pk: d for d in Device.objects.all()}
    assert len(plan["devices"]) == len(devices)
    assert all(keys.secret_matches(d["secret"], devices[d["id"]].secret_hash) for d in plan["devices"])
    silent = plan["silent"]
    assert silent is not None and silent["elderly_alone"]
    assert not PersonPresence.objects.filter(resident_id=silent["resident"]).exists()
    assert not Alert.objects.filter(resident_id=silent["resident"]).exists()
    assert seed_devices(seed=11, now=NOW, plan_path=path).status == "present"


class _Rollback(Exception):
    pass


def _seed_and_forget(tmp_path) -> tuple:
    try:
        with transaction.atomic():
            seed_demo(households=30)
            seed_devices(seed=11, now=NOW, plan_path=tmp_path / "plan.json", days=1)
            raise _Rollback(sorted(Device.objects.values_list("serial", "kind", "vendor", "status")),
                            sorted(Alert.objects.values_list("kind", "status", "count")),
                            DeviceEvent.objects.count())
    except _Rollback as done:
        return done.args


def test_given_the_same_seed_twice_when_seeded_then_devices_alerts_and_history_are_the_same(tmp_path):
    first = _seed_and_forget(tmp_path)
    assert Device.objects.count() == 0
    assert first == _seed_and_forget(tmp_path) and first[2] > 50
