"""/api/v1/notifications/: my inbox and preferences; the outbox of my area, scoped (other communities: 404)."""

from __future__ import annotations

import json

import pytest

from linli.core.actor import Actor
from linli.core.models import AuditEntry
from linli.core.testing import make_token
from linli.notify.actions import enqueue_message, send_message
from linli.notify.models import InboxItem, Message, NotificationPreference

from .conftest import T0

SYSTEM = Actor.system("test")


class Api:
    def __init__(self, client, world, name: str) -> None:
        self.client, self.auth = client, {"HTTP_AUTHORIZATION": f"Bearer {make_token(world.users[name])}"}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, **self.auth)

    def post(self, path: str, body=None):
        return self.client.post(f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", **self.auth)

    def put(self, path: str, body):
        return self.client.put(f"/api/v1{path}", json.dumps(body), content_type="application/json", **self.auth)


def _deliver_inapp(world, user: str, n: int = 1) -> list[InboxItem]:
    for i in range(n):
        [m] = enqueue_message(actor=SYSTEM, recipient=world.users[user], template="notify.test",
                              context={"name": f"n{i}"}, channel="inapp", now=T0)
        send_message(message_id=m.pk, now=T0)
    return list(InboxItem.objects.filter(user=world.users[user]).order_by("id"))


def _dead_sms(world, place) -> Message:
    [m] = enqueue_message(actor=SYSTEM, address="13800138000", channel="sms", template="notify.test",
                          context={"name": "王"}, place_path=place.path, now=T0)
    Message.objects.filter(pk=m.pk).update(status="dead", attempts=5, last_error="gateway down")
    return Message.objects.get(pk=m.pk)


def test_my_inbox_lists_my_messages_newest_first_with_the_unread_count(client, world):
    items = _deliver_inapp(world, "resident_a", 3)
    _deliver_inapp(world, "staff_a")
    api = Api(client, world, "resident_a")
    body = api.get("/notifications/inbox", limit=2).json()
    assert (body["count"], body["unread"], [i["id"] for i in body["items"]]) == (3, 3, [items[2].pk, items[1].pk])
    assert body["items"][0]["body"] == "n2，您好！这是一条来自邻里平台的测试消息。"

    read = api.post(f"/notifications/inbox/{items[0].pk}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    body = api.get("/notifications/inbox", unread="true").json()
    assert (body["count"], body["unread"]) == (2, 2)
    assert AuditEntry.objects.filter(action="notify.read", target_id=str(items[0].pk)).count() == 1
    api.post(f"/notifications/inbox/{items[0].pk}/read")  # again: nothing changes, nothing is audited
    assert AuditEntry.objects.filter(action="notify.read").count() == 1


def test_someone_elses_inbox_item_is_404_and_stays_unread(client, world):
    [item] = _deliver_inapp(world, "resident_a")
    response = Api(client, world, "staff_a").post(f"/notifications/inbox/{item.pk}/read")
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.read_at is None


def test_staff_see_the_outbox_of_their_community_only(client, world):
    a = _dead_sms(world, world.dwelling_a)
    b = _dead_sms(world, world.dwelling_b)
    staff_a = Api(client, world, "staff_a").get("/notifications/messages", status="dead").json()
    assert [m["id"] for m in staff_a["items"]] == [a.pk]
    assert staff_a["items"][0]["address_mask"] == "138****8000"
    assert "address" not in staff_a["items"][0] and "body" not in staff_a["items"][0]
    street = Api(client, world, "street_admin").get("/notifications/messages").json()
    assert sorted(m["id"] for m in street["items"]) == sorted([a.pk, b.pk])
    assert Api(client, world, "staff_b").get(f"/notifications/messages/{a.pk}").status_code == 404
    assert Api(client, world, "resident_a").get("/notifications/messages").status_code == 403


def test_filters_narrow_the_outbox(client, world):
    a = _dead_sms(world, world.dwelling_a)
    _deliver_inapp(world, "resident_a")
    api = Api(client, world, "street_admin")
    assert [m["id"] for m in api.get("/notifications/messages", channel="sms").json()["items"]] == [a.pk]
    assert api.get("/notifications/messages", status="sent", channel="sms").json()["count"] == 0


def test_message_detail_shows_attempts_and_the_text_only_to_roles_that_see_residents(client, world, settings, tmp_path):
    settings.LINLI_SMS_LOG_FILE = str(tmp_path)  # a directory: the send fails for a while
    [m] = enqueue_message(actor=SYSTEM, recipient=world.users["resident_a"], template="notify.test",
                          context={"name": "王秀英"}, channel="sms", place_path=world.dwelling_a.path, now=T0)
    send_message(message_id=m.pk, now=T0)
    staff = Api(client, world, "staff_a").get(f"/notifications/messages/{m.pk}").json()
    assert (staff["status"], staff["body"], staff["context"]) == (
        "failed", "王秀英，您好！这是一条来自邻里平台的测试消息。", {"name": "王秀英"})
    assert [(a["number"], a["outcome"]) for a in staff["attempts_log"]] == [(1, "temporary")]
    sysadmin = Api(client, world, "sysadmin").get(f"/notifications/messages/{m.pk}").json()
    assert (sysadmin["status"], sysadmin["subject"], sysadmin["body"], sysadmin["context"]) == ("failed", "", "", {})


def test_retrying_a_dead_letter_requeues_and_delivers_it(client, world, settings):
    dead = _dead_sms(world, world.dwelling_a)
    response = Api(client, world, "staff_a").post(f"/notifications/messages/{dead.pk}/retry")
    assert response.status_code == 200
    # Tests run tasks inline, but the on-commit hand-over waits for a commit the test never makes.
    assert (response.json()["status"], response.json()["attempts"]) == ("queued", 0)
    assert AuditEntry.objects.filter(action="notify.retry", target_id=str(dead.pk)).count() == 1


def test_retrying_another_communitys_message_is_404_and_changes_nothing(client, world):
    dead = _dead_sms(world, world.dwelling_a)
    api = Api(client, world, "staff_b")
    audits = AuditEntry.objects.count()
    assert api.post(f"/notifications/messages/{dead.pk}/retry").status_code == 404
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("dead", 5)
    assert AuditEntry.objects.count() == audits


def test_retrying_a_sent_message_is_409(client, world):
    [item] = _deliver_inapp(world, "resident_a")
    Message.objects.filter(pk=item.message_id).update(place_path=world.dwelling_a.path)
    response = Api(client, world, "staff_a").post(f"/notifications/messages/{item.message_id}/retry")
    assert (response.status_code, response.json()["code"]) == (409, "not_retryable")


def test_my_preferences_round_trip(client, world):
    api = Api(client, world, "resident_a")
    empty = api.get("/notifications/preferences").json()
    assert empty["preferences"] == [] and empty["channels"] == ["inapp", "sms", "wecom", "email"]
    assert "ticket.status_changed" in [t["key"] for t in empty["templates"]]
    rows = [{"template": "", "channel": "sms", "enabled": True, "quiet_start": "22:00:00", "quiet_end": "07:00:00"},
            {"template": "notice.published", "channel": "inapp", "enabled": False, "quiet_start": None,
             "quiet_end": None}]
    saved = api.put("/notifications/preferences", {"preferences": rows})
    assert saved.status_code == 200
    assert saved.json()["preferences"] == rows
    assert api.get("/notifications/preferences").json()["preferences"] == rows
    assert NotificationPreference.objects.filter(user=world.users["staff_a"]).count() == 0
    entry = AuditEntry.objects.get(action="notify.preferences")
    assert (entry.before, len(entry.after["rows"])) == ({"rows": []}, 2)


@pytest.mark.parametrize(("rows", "field", "code"), [
    ([{"template": "nope", "channel": "sms"}], "preferences[0].template", "unknown"),
    ([{"channel": "fax"}], "preferences[0].channel", "invalid_choice"),
    ([{"channel": "sms", "quiet_start": "22:00"}], "preferences[0].quiet_end", "required"),
    ([{"channel": "sms", "quiet_start": "22:00", "quiet_end": "22:00"}], "preferences[0].quiet_end", "empty_window"),
    ([{"channel": "sms"}, {"channel": "sms", "enabled": False}], "preferences[1].channel", "duplicate"),
])
def test_bad_preferences_are_refused_naming_the_field_and_keep_the_old_ones(client, world, rows, field, code):
    api = Api(client, world, "resident_a")
    api.put("/notifications/preferences", {"preferences": [{"channel": "email", "enabled": True}]})
    audits = AuditEntry.objects.count()
    response = api.put("/notifications/preferences", {"preferences": rows})
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert list(NotificationPreference.objects.values_list("channel", flat=True)) == ["email"]
    assert AuditEntry.objects.count() == audits


def test_anonymous_gets_401(client, db):
    assert client.get("/api/v1/notifications/inbox").status_code == 401
