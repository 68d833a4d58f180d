"""The alert console: the live board (scope, counts per severity, map markers, filters, the poll that answers 204
until something changes, a constant query count), one alert with its events, pictures and history and each
button (illegal steps 409, bad input 422, nothing written), the rules at a place (defaults, overrides, the rule
check's errors in Chinese and English), and the care page with the per-person threshold."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.core.models import AuditEntry
from linli.devices.tests.helpers import register
from linli.devices.tests.payloads import form_part, multipart, tiny_jpeg
from linli.people.models import ResidentTag
from linli.tickets.models import Ticket

from ..actions import SYSTEM, acknowledge_alert, create_rule, resolve_alert
from ..care import Routine, raise_not_seen
from ..models import Alert, AlertEvent, Rule
from .helpers import counts, event, local, push

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture
def media_root(settings, tmp_path):
    """Pictures go to a temporary media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
STILL = {"score": 0.9, "attrs": {"stationary_s": 300}}


def login(client, world, name: str):
    client.force_login(world.users[name])
    return client


def board_version(response) -> str:
    return response.context["version"]


@pytest.fixture
def fire_lane(camera) -> Alert:
    """A major fire-lane alert on estate A's camera."""
    push(camera, event("camera.fire_lane", local(23, 10), **STILL))
    return Alert.objects.get(kind="fire_lane")


@pytest.fixture
def smoke(world) -> Alert:
    """A critical smoke alert from a located sensor of estate A."""
    sensor = register(world.estate_a, kind="smoke_sensor", serial="SMOKE-A", name="1栋烟感",
                      longitude=114.2965, latitude=29.8335).device
    push(sensor, event("sensor.smoke", local(23, 11)))
    return Alert.objects.get(kind="smoke_fire")


# ---------------------------------------------------------------- the board

def test_given_alerts_of_two_communities_when_staff_open_the_board_then_they_see_theirs_counted_and_mapped(
        world, client, fire_lane, smoke, camera_b):
    push(camera_b, event("camera.fire_lane", local(23, 10), **STILL))

    response = login(client, world, "staff_a").get("/alerts/")

    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert [r.pk for r in response.context["rows"]] == [smoke.pk, fire_lane.pk]  # most severe first
    assert "桂花摄像头" not in html and "北门摄像头" in html and "祥和苑" in html
    assert {c["value"]: (c["n"], c["open"]) for c in response.context["counts"]} == {
        "critical": (1, 1), "major": (1, 1), "minor": (0, 0), "warning": (0, 0)}
    markers = {m["id"]: m for m in response.context["map_data"]["markers"]}
    # the sensor has its own location; the camera has none and sits at its estate's
    assert (markers[smoke.pk]["lng"], markers[smoke.pk]["lat"], markers[smoke.pk]["severity"]) == (
        114.2965, 29.8335, "critical")
    assert (markers[fire_lane.pk]["lng"], markers[fire_lane.pk]["lat"]) == (114.2961, 29.8331)
    assert 'id="alert-map-data"' in html and 'href="/alerts/"' in html  # the map's data and the menu entry
    assert 'hx-trigger="every 2s [!document.hidden]"' in html


@pytest.mark.parametrize("name, status", [("resident_a", 403), ("committee_a", 403), ("nobody", 403),
                                          ("sysadmin", 403), ("grid_a", 200), ("property_a", 200)])
def test_given_a_persona_when_opening_the_board_then_only_alert_roles_get_in(world, client, name, status):
    response = login(client, world, name).get("/alerts/")
    assert response.status_code == status
    assert ('href="/alerts/"' in response.content.decode()) is (status == 200)


def test_given_an_anonymous_visitor_when_opening_the_board_then_the_login_page_comes_first(client):
    response = client.get("/alerts/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_given_the_board_when_nothing_changes_then_the_poll_is_204_and_a_new_alert_or_a_step_sends_the_list(
        world, client, camera, fire_lane):
    login(client, world, "staff_a")
    first = client.get("/alerts/")
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_X_BOARD_VERSION": board_version(first)}

    unchanged = client.get("/alerts/", **poll)
    assert (unchanged.status_code, unchanged.content) == (204, b"")

    push(camera, event("camera.smoke_fire", local(23, 12)))
    changed = client.get("/alerts/", **poll)
    assert changed.status_code == 200
    assert [r.kind for r in changed.context["rows"]] == ["smoke_fire", "fire_lane"]
    assert "<html" not in changed.content.decode()  # only the results section
    assert {m["id"] for m in changed.context["map_data"]["markers"]} == set(Alert.objects.values_list("pk", flat=True))

    poll["HTTP_X_BOARD_VERSION"] = board_version(changed)
    assert client.get("/alerts/", **poll).status_code == 204
    push(camera, event("camera.fire_lane", local(23, 13), **STILL))  # a repeat counts on the open alert
    repeated = client.get("/alerts/", **poll)
    assert repeated.status_code == 200
    poll["HTTP_X_BOARD_VERSION"] = board_version(repeated)
    acknowledge_alert(actor=world.actor("property_a"), alert=fire_lane)
    assert client.get("/alerts/", **poll).status_code == 200


def test_given_filters_when_the_board_is_asked_then_status_severity_kind_place_and_dates_narrow_it(
        world, client, fire_lane, smoke):
    resolve_alert(actor=world.actor("staff_a"), alert=fire_lane, note="已挪车")
    login(client, world, "staff_a")

    def listed(**params) -> list[int]:
        return [a.pk for a in client.get("/alerts/", params).context["rows"]]

    assert listed() == [smoke.pk]  # open and acknowledged by default
    assert listed(status="all") == [smoke.pk, fire_lane.pk]
    assert listed(status="resolved") == [fire_lane.pk]
    assert listed(status="all", severity="major") == [fire_lane.pk]
    assert listed(status="all", kind="smoke_fire") == [smoke.pk]
    assert listed(status="all", place=world.estate_a.pk) == [smoke.pk, fire_lane.pk]
    assert listed(status="all", sort="newest") == [smoke.pk, fire_lane.pk]
    assert listed(status="all", since="2026-04-24") == []
    assert listed(status="all", since="2026-04-23", until="2026-04-23") == [smoke.pk, fire_lane.pk]
    # a place of another community is not a choice
    response = client.get("/alerts/", {"place": world.estate_b.pk})
    assert "place" in response.context["form"].errors


def test_given_the_board_when_alerts_multiply_then_the_page_costs_the_same_queries(world, client):
    login(client, world, "staff_a")
    cameras = [register(world.estate_a if i % 2 else world.building_a, kind="ai_camera", serial=f"CAM-{i}").device
               for i in range(8)]
    push(cameras[0], event("camera.smoke_fire", local(23, 10)))
    with CaptureQueriesContext(connection) as few:
        client.get("/alerts/")
    for i, camera in enumerate(cameras[1:], start=1):
        push(camera, event("camera.smoke_fire" if i % 2 else "camera.fire_lane", local(23, 10, i), **STILL))
    with CaptureQueriesContext(connection) as many:
        response = client.get("/alerts/")
    assert len(response.context["rows"]) == 8
    assert len(many.captured_queries) == len(few.captured_queries)


# ---------------------------------------------------------------- one alert

def test_given_an_alert_with_a_picture_when_opened_then_events_thumbnails_place_and_history_show(
        world, client, django_capture_on_commit_callbacks):
    camera = register(world.estate_a, kind="ai_camera", serial="CAM-PIC", name="南门摄像头")
    body, content_type = multipart([
        form_part("event", "application/json", json.dumps({
            "kind": "camera.smoke_fire", "time": "2026-04-23T10:00:00+08:00", "id": "smoke-1", "score": 0.93,
            "zone": "车棚", "media": ["snap.jpg"]}).encode()),
        form_part("snap.jpg", "image/jpeg", tiny_jpeg(b"smoke"), "snap.jpg")])
    with django_capture_on_commit_callbacks(execute=True):  # the pipeline runs once the events are committed
        assert camera.push(client, "generic", body, content_type).status_code == 200
    alert = Alert.objects.get()

    response = login(client, world, "property_a").get(f"/alerts/{alert.pk}/")

    html = response.content.decode()
    [shown] = response.context["events"]
    assert (shown.kind, shown.zone) == ("camera.smoke_fire", "车棚")
    thumb = f"/devices/events/{shown.pk}/media/0/?thumb=1"
    assert thumb in html
    assert client.get(thumb).status_code == 200
    assert "南门摄像头" in html and "祥和苑" in html and "烟火告警" in html
    assert [h["kind"] for h in response.context["history"]] == ["opened"]
    assert f'formaction="/alerts/{alert.pk}/acknowledge/"' in html and 'id="ticket-form"' in html


def test_given_a_resident_subject_when_the_alert_shows_then_the_phone_is_masked(world, client):
    band = register(world.entrance_a, kind="wristband", serial="WB-1", name="王秀英手环", wearer=world.resident_a)
    push(band.device, event("wristband.sos", local(23, 6)))
    alert = Alert.objects.get()

    html = login(client, world, "grid_a").get(f"/alerts/{alert.pk}/").content.decode()

    assert "王秀英" in html and "138****8000" in html and "13800138000" not in html


def test_given_another_communitys_alert_when_opened_or_handled_then_404_and_nothing_written(world, client, fire_lane):
    login(client, world, "staff_b")
    before = counts()

    assert client.get(f"/alerts/{fire_lane.pk}/").status_code == 404
    for step in ("acknowledge", "resolve", "false_alarm", "comment"):
        assert client.post(f"/alerts/{fire_lane.pk}/{step}/", {"note": "x"}).status_code == 404
    assert client.post(f"/alerts/{fire_lane.pk}/ticket/", {"kind": "repair", "category_id": 1}).status_code == 404
    assert counts() == before
    assert Alert.objects.get().status == "open"


def test_given_an_open_alert_when_acknowledged_from_the_board_then_back_to_the_board_with_the_new_state(
        world, client, fire_lane):
    login(client, world, "property_a")

    response = client.post(f"/alerts/{fire_lane.pk}/acknowledge/", {"next": "/alerts/?severity=major"})

    assert (response.status_code, response["Location"]) == (302, "/alerts/?severity=major")
    fire_lane.refresh_from_db()
    assert (fire_lane.status, fire_lane.acknowledged_by_id) == ("acknowledged", world.users["property_a"].pk)
    assert AuditEntry.objects.filter(action="alert.acknowledged", actor_label="property_a").count() == 1
    # an address outside the site is not followed
    resolved = client.post(f"/alerts/{fire_lane.pk}/resolve/", {"next": "https://evil.example/"})
    assert resolved["Location"] == f"/alerts/{fire_lane.pk}/"


@pytest.mark.parametrize("step, status", [("resolve", "resolved"), ("false_alarm", "false_alarm")])
def test_given_an_alert_when_closed_with_a_note_then_the_history_keeps_who_and_why(world, client, fire_lane, step,
                                                                                    status):
    response = login(client, world, "grid_a").post(f"/alerts/{fire_lane.pk}/{step}/", {"note": "现场核实"})

    assert response.status_code == 302
    fire_lane.refresh_from_db()
    assert fire_lane.status == status
    page = client.get(f"/alerts/{fire_lane.pk}/")
    assert [(h["kind"], h["actor"], h["note"]) for h in page.context["history"]][-1] == (status, "grid_a", "现场核实")
    assert "formaction" not in page.content.decode()  # no more steps, only comments


@pytest.mark.parametrize("language, message", [
    ("zh-hans", "告警当前状态为“已确认”，不能确认"), ("en", "the alert is acknowledged: it cannot be acknowledged")])
def test_given_an_alert_someone_else_acknowledged_when_acknowledged_again_then_409_saying_why_and_nothing_written(
        world, client, fire_lane, language, message):
    acknowledge_alert(actor=world.actor("property_a"), alert=fire_lane)
    login(client, world, "staff_a")
    client.cookies["django_language"] = language
    before = counts()

    response = client.post(f"/alerts/{fire_lane.pk}/acknowledge/")

    assert response.status_code == 409
    assert response.context["step_error"].startswith(message)
    assert message in response.content.decode()
    assert counts() == before


def test_given_a_closed_alert_when_resolved_again_then_409_and_nothing_written(world, client, fire_lane):
    resolve_alert(actor=world.actor("staff_a"), alert=fire_lane)
    before = counts()

    response = login(client, world, "property_a").post(f"/alerts/{fire_lane.pk}/false_alarm/", {"note": "迟到的误报"})

    assert response.status_code == 409 and "不能标记误报" in response.context["step_error"]
    assert counts() == before


@pytest.mark.parametrize("language, message", [("zh-hans", "请填写内容"), ("en", "write something")])
def test_given_an_empty_comment_when_sent_then_422_naming_the_note_and_nothing_written(world, client, fire_lane,
                                                                                       language, message):
    login(client, world, "staff_a")
    client.cookies["django_language"] = language
    before = counts()

    response = client.post(f"/alerts/{fire_lane.pk}/comment/", {"note": "   "})

    assert response.status_code == 422
    assert response.context["note_error"] == message and response.context["failed"] == "comment"
    assert counts() == before
    ok = client.post(f"/alerts/{fire_lane.pk}/comment/", {"note": "已通知车主"})
    assert ok.status_code == 302
    assert AlertEvent.objects.filter(alert=fire_lane, kind="comment").values_list("note", flat=True).get() == "已通知车主"


def test_given_a_note_too_long_when_resolving_then_422_and_the_alert_stays_open(world, client, fire_lane):
    before = counts()
    response = login(client, world, "staff_a").post(f"/alerts/{fire_lane.pk}/resolve/", {"note": "长" * 501})
    assert response.status_code == 422 and response.context["note_error"] == "说明不能超过500个字"
    assert counts() == before and Alert.objects.get().status == "open"


def test_given_an_unknown_step_when_posted_then_404(world, client, fire_lane):
    assert login(client, world, "staff_a").post(f"/alerts/{fire_lane.pk}/explode/").status_code == 404


def test_given_a_role_without_alert_rights_when_posting_a_step_then_the_alert_does_not_exist_for_it(world, client,
                                                                                                   fire_lane):
    assert login(client, world, "committee_a").post(f"/alerts/{fire_lane.pk}/acknowledge/").status_code == 404
    assert Alert.objects.get().status == "open"


def test_given_an_alert_when_turned_into_a_ticket_of_a_category_then_the_ticket_exists_once(world, client, desk,
                                                                                           fire_lane):
    login(client, world, "staff_a")
    page = client.get(f"/alerts/{fire_lane.pk}/")
    parking = desk.category("parking")
    assert (str(parking.pk), parking.name) in page.context["ticket_form"].fields["category_id"].choices

    missing = client.post(f"/alerts/{fire_lane.pk}/ticket/", {"kind": "repair", "category_id": ""})
    assert missing.status_code == 422 and missing.context["ticket_form"].errors["category_id"]
    assert not Ticket.objects.exists()

    response = client.post(f"/alerts/{fire_lane.pk}/ticket/", {"kind": "repair", "category_id": parking.pk})

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.category_id, ticket.place_id) == ("alert", parking.pk, world.estate_a.pk)
    html = client.get(f"/alerts/{fire_lane.pk}/").content.decode()
    assert ticket.number in html and 'id="ticket-form"' not in html
    before = counts()
    again = client.post(f"/alerts/{fire_lane.pk}/ticket/", {"kind": "repair", "category_id": parking.pk})
    assert again.status_code == 409 and Ticket.objects.count() == 1 and counts() == before


# ---------------------------------------------------------------- rules

def rule_post(**fields) -> dict:
    data = {"code": "fire_lane", "name": "消防通道占用（梅园）", "name_en": "fire lane (Meiyuan)", "severity": "critical",
            "event_kinds": ["camera.fire_lane"], "min_score": "0.7", "zones": "东门, 北门", "repeat_count": "1",
            "route_roles": ["property_staff", "community_staff"], "escalation_minutes_0": "10",
            "escalation_role_0": "community_staff", "auto_resolve_minutes": "30", "enabled": "on"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_given_a_community_when_its_rules_are_listed_then_defaults_show_and_an_override_takes_their_place(
        world, client):
    login(client, world, "staff_a")
    page = client.get("/alerts/rules/", {"place": world.community_a.pk})
    groups = {g["code"]: g for g in page.context["groups"]}
    assert len(groups) == 9 and groups["fire_lane"]["effective"].place_id is None
    assert "平台默认" in page.content.decode()

    response = client.post("/alerts/rules/new/", rule_post(place=world.community_a.pk))

    assert response.status_code == 302
    rule = Rule.objects.get(place=world.community_a)
    assert (rule.code, rule.severity, rule.min_score, rule.zones, rule.escalation) == (
        "fire_lane", "critical", 0.7, ["东门", "北门"], [{"after_minutes": 10, "to_role": "community_staff"}])
    groups = {g["code"]: g for g in client.get("/alerts/rules/", {"place": world.estate_a.pk}).context["groups"]}
    assert groups["fire_lane"]["effective"].pk == rule.pk
    assert [r.place_id for r in groups["fire_lane"]["rules"]] == [None, world.community_a.pk]


def test_given_a_default_when_overridden_from_the_list_then_the_form_starts_from_its_values(world, client):
    default = Rule.objects.get(code="night_intrusion", place__isnull=True)
    login(client, world, "staff_a")
    form = client.get("/alerts/rules/new/", {"place": world.community_a.pk, "from": default.pk}).context["form"]
    assert (form.initial["code"], form.initial["time_from"], form.initial["time_until"], form.initial["place"]) == (
        "night_intrusion", "22:00", "06:00", str(world.community_a.pk))


@pytest.mark.parametrize("language, expected", [
    ("zh-hans", {"min_score": ["置信度应在0到1之间"], "time_until": ["时间段须同时填写开始和结束"],
                 "event_kinds": ["事件类型无效"], "escalation_role_2": ["升级对象角色无效"],
                 "repeat_minutes": ["多次触发须指定时间窗（分钟）"], "code": ["代码为小写字母、数字和下划线"]}),
    ("en", {"min_score": ["min_score is between 0 and 1"], "time_until": ["give both time_from and time_until"],
            "event_kinds": ["give known event kinds"], "escalation_role_2": ["unknown role None"],
            "repeat_minutes": ["repeats need repeat_minutes"], "code": ["a code is lower-case letters, digits and _"]}),
])
def test_given_a_bad_rule_when_saved_then_422_naming_each_field_in_the_language_and_nothing_written(
        world, client, language, expected):
    login(client, world, "staff_a")
    client.cookies["django_language"] = language
    before = (Rule.objects.count(), AuditEntry.objects.count())

    response = client.post("/alerts/rules/new/", rule_post(
        place=world.community_a.pk, code="Fire Lane", min_score="1.5", time_from="22:00", event_kinds=[],
        repeat_count="3", escalation_minutes_2="20", escalation_role_2=""))

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert {k: errors[k] for k in expected} == expected
    assert (Rule.objects.count(), AuditEntry.objects.count()) == before


def test_given_a_rule_with_a_taken_code_when_created_again_then_the_code_is_named(world, client):
    create_rule(actor=SYSTEM, place=world.community_a, fields={
        "code": "loitering", "name": "徘徊", "event_kinds": ["camera.loitering"], "severity": "minor"})
    response = login(client, world, "staff_a").post("/alerts/rules/new/", rule_post(
        place=world.community_a.pk, code="loitering", event_kinds=["camera.loitering"]))
    assert response.status_code == 422 and response.context["form"].errors["code"] == ["此地点已有同代码的规则"]
    assert Rule.objects.filter(code="loitering").count() == 1


def test_given_an_override_when_edited_and_disabled_then_the_change_is_saved_and_audited(world, client):
    rule = create_rule(actor=SYSTEM, place=world.community_a, fields={
        "code": "bin_overflow", "name": "垃圾满溢", "event_kinds": ["camera.bin_overflow"], "severity": "minor"})
    login(client, world, "staff_a")
    form = client.get(f"/alerts/rules/{rule.pk}/edit/").context["form"]
    assert "code" not in form.fields and form.initial["severity"] == "minor"

    edited = client.post(f"/alerts/rules/{rule.pk}/edit/", rule_post(
        code=None, name="垃圾满溢（梅园）", severity="major", event_kinds=["camera.bin_overflow"], weekdays=["0", "4"],
        time_from="08:00", time_until="20:00"))
    disabled = client.post(f"/alerts/rules/{rule.pk}/enable/", {"enabled": "0"})

    assert (edited.status_code, disabled.status_code) == (302, 302)
    rule.refresh_from_db()
    assert (rule.name, rule.severity, rule.weekdays, rule.time_from, rule.enabled) == (
        "垃圾满溢（梅园）", "major", [0, 4], dt.time(8), False)
    assert list(AuditEntry.objects.filter(target_id=str(rule.pk), action__startswith="alert.rule")
                .order_by("pk").values_list("action", flat=True)) == [
        "alert.rule.create", "alert.rule.update", "alert.rule.update"]
    state = client.get("/alerts/rules/", {"place": world.community_a.pk})
    assert "已停用" in state.content.decode()


def test_given_a_bad_edit_when_saved_then_422_and_the_rule_unchanged(world, client):
    rule = create_rule(actor=SYSTEM, place=world.community_a, fields={
        "code": "bin_overflow", "name": "垃圾满溢", "event_kinds": ["camera.bin_overflow"], "severity": "minor"})
    response = login(client, world, "staff_a").post(f"/alerts/rules/{rule.pk}/edit/", rule_post(
        code=None, name="", min_score="abc", event_kinds=["camera.bin_overflow"]))
    assert response.status_code == 422
    assert response.context["form"].errors["name"] == ["请填写名称"]
    assert response.context["form"].errors["min_score"] == ["置信度应在0到1之间"]
    rule.refresh_from_db()
    assert (rule.name, rule.min_score) == ("垃圾满溢", None)


def test_given_rule_pages_when_other_roles_or_communities_ask_then_403_or_404(world, client):
    rule = create_rule(actor=SYSTEM, place=world.community_a, fields={
        "code": "bin_overflow", "name": "垃圾满溢", "event_kinds": ["camera.bin_overflow"], "severity": "minor"})
    shipped = Rule.objects.get(code="gas_leak", place__isnull=True)
    assert login(client, world, "property_a").get("/alerts/rules/").status_code == 403
    assert client.get(f"/alerts/rules/{rule.pk}/edit/").status_code == 404
    assert login(client, world, "staff_b").get(f"/alerts/rules/{rule.pk}/edit/").status_code == 404
    assert client.post(f"/alerts/rules/{rule.pk}/enable/", {"enabled": "0"}).status_code == 404
    assert client.get("/alerts/rules/", {"place": world.community_a.pk}).status_code == 404
    # shipped rules are changed by overriding them, not in place
    login(client, world, "staff_a")
    assert client.get(f"/alerts/rules/{shipped.pk}/edit/").status_code == 403
    assert client.post(f"/alerts/rules/{shipped.pk}/enable/", {"enabled": "0"}).status_code == 403
    assert Rule.objects.get(pk=shipped.pk).enabled and Rule.objects.get(pk=rule.pk).enabled


# ---------------------------------------------------------------- care

def test_given_residents_living_alone_when_the_care_page_opens_then_own_area_with_last_seen_and_why(world, client):
    since = timezone.now() - dt.timedelta(hours=30)
    alert = raise_not_seen(world.resident_a, since, 20.0, timezone.now(),
                           Routine(days=21, usual_hours=13.3, limit_hours=20.0))
    login(client, world, "grid_a")

    response = client.get("/alerts/care/")

    [row] = response.context["rows"]
    assert (row["resident"].pk, row["threshold"], row["custom"], row["alert"].pk) == (
        world.resident_a.pk, 24.0, False, alert.pk)
    assert row["why"]["reason"] == "routine"
    html = response.content.decode()
    assert "异常于本人作息：近 21 天此时通常最多 13.3 小时未出门" in html
    assert login(client, world, "staff_b").get("/alerts/care/").context["rows"] == []
    detail = login(client, world, "grid_a").get(f"/alerts/{alert.pk}/").content.decode()
    assert "按本人近 21 天的作息" in detail


def test_given_a_threshold_when_set_on_the_care_page_then_the_tag_keeps_it_and_the_change_is_audited(world, client):
    login(client, world, "grid_a")

    response = client.post(f"/alerts/care/{world.resident_a.pk}/threshold/", {"hours": "36"})

    assert response.status_code == 302
    tag = ResidentTag.objects.get(resident=world.resident_a, tag__code="elderly_alone")
    assert tag.attrs["not_seen_hours"] == 36
    entry = AuditEntry.objects.get(action="care.threshold")
    assert (entry.actor_label, entry.before, entry.after) == ("grid_a", {"not_seen_hours": None},
                                                              {"not_seen_hours": 36})
    [row] = client.get("/alerts/care/").context["rows"]
    assert (row["threshold"], row["custom"]) == (36.0, True)
    client.post(f"/alerts/care/{world.resident_a.pk}/threshold/", {"hours": ""})
    assert "not_seen_hours" not in ResidentTag.objects.get(pk=tag.pk).attrs


@pytest.mark.parametrize("language, message", [
    ("zh-hans", "阈值应为1到720小时之间的数字"), ("en", "the threshold is a number of hours from 1 to 720")])
@pytest.mark.parametrize("hours", ["0", "abc", "1000"])
def test_given_a_bad_threshold_when_saved_then_422_saying_why_and_nothing_written(world, client, hours, language,
                                                                                  message):
    login(client, world, "staff_a")
    client.cookies["django_language"] = language
    before = (AuditEntry.objects.count(), ResidentTag.objects.get(resident=world.resident_a).attrs)

    response = client.post(f"/alerts/care/{world.resident_a.pk}/threshold/", {"hours": hours})

    assert response.status_code == 422
    [row] = response.context["rows"]
    assert row["error"] == message and message in response.content.decode()
    assert (AuditEntry.objects.count(), ResidentTag.objects.get(resident=world.resident_a).attrs) == before


def test_given_care_rights_when_others_set_a_threshold_then_403_or_404(world, client):
    # property staff see alerts and residents but do not edit residents' care records
    assert login(client, world, "property_a").post(
        f"/alerts/care/{world.resident_a.pk}/threshold/", {"hours": "12"}).status_code == 403
    assert login(client, world, "staff_b").post(
        f"/alerts/care/{world.resident_a.pk}/threshold/", {"hours": "12"}).status_code == 404
    assert "not_seen_hours" not in ResidentTag.objects.get(resident=world.resident_a).attrs


def test_given_english_when_the_board_and_an_alert_show_then_labels_and_titles_are_english(world, client, smoke):
    login(client, world, "staff_a")
    client.cookies["django_language"] = "en"

    board = client.get("/alerts/").content.decode()
    detail = client.get(f"/alerts/{smoke.pk}/").content.decode()

    assert "Alert board" in board and "Critical" in board and "smoke or fire" in board and "1 alert" in board
    assert "烟火告警" not in board
    assert "Acknowledge" in detail and "False alarm" in detail and "smoke or fire" in detail
