"""``linli simulate`` against a running Linli: over HTTP to pytest-django's live server, and over MQTT to the real
Mosquitto (LINLI_TEST_MQTT_URL) with an in-process ingest consumer, as test_mqtt.py runs it. The simulator only
sends; what it sent must come out of the real ingestion path as stored events, alerts and quarantine rows."""

from __future__ import annotations

import datetime as dt
import io
import stat
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from linli.alerts import care
from linli.alerts.choices import NOT_SEEN
from linli.alerts.models import Alert
from linli.core.models import AuditEntry
from linli.demo.seed import seed_demo
from linli.devices import keys, simulate
from linli.devices.demo import seed_devices
from linli.devices.ingest import sweep_offline_devices
from linli.devices.models import Device, DeviceEvent, PersonPresence, QuarantinedPayload
from linli.devices.simulate.scenarios import latest_window
from linli.devices.tests.test_mqtt import BROKER_URL, config, consume, wait_for  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.usefixtures("media_root")]
HTTP_SCENARIOS = ["morning", "fire-lane", "malformed", "hikvision", "dahua", "silent"]


@pytest.fixture
def plan_path(tmp_path):
    """A small demo (places, residents, devices, history) and the simulator file it writes."""
    assert seed_demo(households=30).created
    report = seed_devices(seed=5, plan_path=tmp_path / "simulator.json", days=1)
    assert report.status == "created"
    return report.plan_path


def _new_events(before: int):
    return DeviceEvent.objects.filter(pk__gt=before).exclude(kind__in=["device.online", "device.offline"])


def _daytime(now: dt.datetime) -> dt.datetime:
    """``now``, or 07:30 the next morning when it falls in the care monitor's quiet hours."""
    if not care.quiet(now):
        return now
    local = timezone.localtime(now)
    morning = local.replace(hour=7, minute=30, second=0, microsecond=0)
    return morning if morning > local else morning + dt.timedelta(days=1)


def test_given_the_demo_when_simulated_over_http_then_events_are_stored_the_fire_lane_alert_opens_and_bad_payloads_are_kept(
        plan_path, live_server):
    plan = simulate.read_plan(plan_path)
    last_event = DeviceEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    quarantined = QuarantinedPayload.objects.count()
    out = io.StringIO()

    call_command("simulate", "--url", live_server.url, "--plan", str(plan_path), *[
        a for name in HTTP_SCENARIOS for a in ("-s", name)], "--speed", "1000000", "--seed", "4", "--backdate",
        stdout=out)

    lines = out.getvalue().splitlines()
    planned = int(lines[0].split()[0])
    assert f"linli simulate over HTTP: {planned} payloads" in lines[1]
    assert f"answers: 200 x{planned - 1}, 400 x1" in lines and lines[-1] == "errors: 0"
    sent = {tuple(line.split()[:1]) + (line.split()[-1],) for line in lines if line.startswith("  ")}
    assert ("fire-lane", "13") in sent and ("malformed", "1") in sent and ("hikvision", "1") in sent
    events = int(lines[1].split("(")[1].split()[0])

    stored = _new_events(last_event)
    assert stored.count() == events - 2  # all but the broken payload and the batch member without a time zone
    passages = stored.filter(kind__in=["passage.face", "passage.card"])
    assert passages.count() > 20 and not passages.filter(resident__isnull=True).exists()  # every ref resolved
    assert stored.filter(kind="passage.plate", vehicle__isnull=False, external_id__startswith="hikvision:").exists()
    assert stored.filter(external_id__startswith="dahua:").count() >= 2
    pictures = stored.filter(external_id__startswith="hikvision:").exclude(media=[])
    assert pictures.count() == 2  # the access event and the ANPR event of the multipart samples

    camera = next(d for d in plan["devices"] if d["role"] == "fire_lane" and stored.filter(
        device_id=d["id"], kind="camera.fire_lane").exists())
    alert = Alert.objects.get(kind="fire_lane", device_id=camera["id"], status="open", last_event_id__gt=last_event)
    assert alert.count == 9  # the events of 120 s and more of the 13 (every 30 s from 0 to 360 s)

    new = QuarantinedPayload.objects.order_by("pk")[quarantined:]
    gateway = next(d for d in plan["devices"] if d["role"] == "gateway" and d["id"] in {q.device_id for q in new})
    assert sorted((q.source, q.reason_code, q.device_id) for q in new) == [
        ("generic", "invalid_json", gateway["id"]), ("generic.member", "naive_time", gateway["id"])]

    # The peak replays the latest morning window; the silent resident's last passage is the backdated one.
    begin = latest_window(timezone.now(), (7.0, 9.0))
    morning = stored.filter(external_id__contains="sim-", kind__startswith="passage.", device__vendor="generic")
    assert morning.exists() and all(begin <= at < begin + dt.timedelta(hours=2) or at < timezone.now() - dt.timedelta(
        hours=25) for at in morning.values_list("occurred_at", flat=True))
    silent = plan["silent"]["resident"]
    seen = PersonPresence.objects.get(resident_id=silent).last_seen_at
    assert dt.timedelta(hours=25) < timezone.now() - seen < dt.timedelta(hours=27)
    raised = care.sweep_not_seen(_daytime(timezone.now()))
    assert silent in {a.resident_id for a in raised}
    assert Alert.objects.get(kind=NOT_SEEN, resident_id=silent).attrs["since"] == seen.isoformat()


def test_given_the_same_run_sent_twice_then_nothing_is_stored_twice(plan_path, live_server):
    plan = simulate.read_plan(plan_path)
    start = timezone.now()
    shots, _ = simulate.plan_shots(plan, ["fire-lane", "dahua"], mqtt=False, backdate=False, seed=1, start=start)
    fixed = [s for s in shots if s.scenario == "dahua"]  # payloads with the device's own record numbers
    first = simulate.run(simulate.HttpSender(live_server.url), fixed, speed=1e6)
    count = DeviceEvent.objects.count()
    again = simulate.run(simulate.HttpSender(live_server.url), fixed, speed=1e6)
    assert first.errors == again.errors == [] and DeviceEvent.objects.count() == count


def test_given_no_simulator_file_when_simulate_runs_then_it_says_how_to_get_one(tmp_path):
    with pytest.raises(CommandError, match="not found: load the demo"):
        call_command("simulate", "--plan", str(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="no demo devices"):
        call_command("simulate", "--setup", "--plan", str(tmp_path / "new.json"))
    assert not (tmp_path / "new.json").exists()


def test_given_the_demo_when_setup_runs_then_every_device_is_rekeyed_through_the_action_and_the_file_is_private(
        plan_path, tmp_path):
    old = {d["id"]: d["secret"] for d in simulate.read_plan(plan_path)["devices"]}
    out = io.StringIO()
    call_command("simulate", "--setup", "--plan", str(tmp_path / "fresh.json"), stdout=out)
    fresh = tmp_path / "fresh.json"
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    plan = simulate.read_plan(fresh)
    assert f"{len(old)} demo devices re-keyed" in out.getvalue() and {d["id"] for d in plan["devices"]} == set(old)
    hashes = dict(Device.objects.values_list("pk", "secret_hash"))
    for device in plan["devices"]:
        assert keys.secret_matches(device["secret"], hashes[device["id"]])
        assert not keys.secret_matches(old[device["id"]], hashes[device["id"]])
    assert AuditEntry.objects.filter(action="device.rotate_secret").count() == len(old)


def test_given_the_demo_when_simulated_over_mqtt_then_the_consumer_stores_alerts_and_quarantines_frigate_too(
        plan_path, config, consume):  # noqa: F811 (fixtures from test_mqtt)
    plan = simulate.read_plan(plan_path)
    spare = next(d for d in plan["devices"] if d["role"] == "spare")
    assert Device.objects.get(pk=spare["id"]).status == "unknown"
    last_event = DeviceEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    quarantined = QuarantinedPayload.objects.count()
    consume()
    names, skipped = simulate.choose(["fire-lane", "malformed", "wristband", "offline", "frigate", "hikvision"],
                                     mqtt=True, frigate=True)
    assert skipped == ["hikvision: HTTP only (vendor push endpoints)"]
    shots, _ = simulate.plan_shots(plan, names, mqtt=True, backdate=False, seed=2, frigate=True)
    sender = simulate.MqttSender(BROKER_URL, config.generic_prefix, config.frigate_prefix)

    summary = simulate.run(sender, shots, speed=1e6)

    assert summary.errors == [] and summary.statuses == Counter({"puback": len(shots)})
    heartbeats = sum(1 for s in shots if s.label == "device.heartbeat")
    broken = sum(1 for s in shots if s.label.endswith("malformed"))
    assert broken == 2  # a generic payload and a Frigate message, both cut short
    expected = summary.events - heartbeats - broken - 1  # liveness is not stored, nor the naive batch member
    wait_for(lambda: _new_events(last_event).count() >= expected
             and QuarantinedPayload.objects.count() >= quarantined + 3, 20)
    stored = _new_events(last_event)
    assert stored.count() == expected
    camera = next(d for d in plan["devices"] if d["role"] == "frigate_camera")
    assert stored.filter(device_id=camera["id"], kind="camera.fire_lane").count() == 9
    new_alerts = Alert.objects.filter(status="open", last_event_id__gt=last_event)
    wait_for(lambda: new_alerts.filter(kind="fire_lane").count() == 2, 10)  # a generic camera and Frigate's
    assert new_alerts.filter(kind="fire_lane", device_id=camera["id"]).exists()
    assert new_alerts.filter(kind="wristband_emergency", severity="critical").exists()
    new = QuarantinedPayload.objects.order_by("pk")[quarantined:]
    assert sorted((q.source, q.reason_code) for q in new) == [
        ("frigate", "invalid_json"), ("generic", "invalid_json"), ("generic.member", "naive_time")]
    frigate_row = next(q for q in new if q.source == "frigate")
    assert frigate_row.get_source_display() == "Frigate（MQTT）" and frigate_row.device_id is None

    # The spare camera spoke, then fell silent: the sweep after its threshold marks it offline and alerts.
    device = Device.objects.get(pk=spare["id"])
    assert device.status == "online"
    assert sweep_offline_devices(device.stale_at + dt.timedelta(seconds=1))
    wait_for(lambda: Alert.objects.filter(kind="device_offline", device_id=spare["id"], status="open").exists(), 10)
