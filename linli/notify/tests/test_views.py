"""The inbox page: my messages, unread marked, reading one marks it read; nobody else's."""

from __future__ import annotations

from linli.core.actor import Actor
from linli.notify.actions import enqueue_message, send_message
from linli.notify.models import InboxItem

from .conftest import T0


def _item(world, user: str, name: str) -> InboxItem:
    [m] = enqueue_message(actor=Actor.system("test"), recipient=world.users[user], template="notify.test",
                          context={"name": name}, channel="inapp", now=T0)
    send_message(message_id=m.pk, now=T0)
    return InboxItem.objects.get(message=m)


def test_the_inbox_page_shows_my_messages_with_the_unread_count(client, world):
    _item(world, "resident_a", "王秀英")
    _item(world, "staff_a", "别人")
    client.force_login(world.users["resident_a"])
    page = client.get("/notifications/").content.decode()
    assert "王秀英，您好！这是一条来自邻里平台的测试消息。" in page
    assert "1 条未读" in page
    assert "别人" not in page


def test_reading_a_message_marks_it_read_and_returns_to_the_page(client, world):
    item = _item(world, "resident_a", "王秀英")
    client.force_login(world.users["resident_a"])
    response = client.post(f"/notifications/{item.pk}/read/", {"next": "/notifications/?unread=1"})
    assert (response.status_code, response["Location"]) == (302, "/notifications/?unread=1")
    item.refresh_from_db()
    assert item.read_at is not None
    assert "暂无消息" in client.get("/notifications/?unread=1").content.decode()


def test_reading_never_redirects_off_site(client, world):
    item = _item(world, "resident_a", "王秀英")
    client.force_login(world.users["resident_a"])
    response = client.post(f"/notifications/{item.pk}/read/", {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"


def test_someone_elses_message_is_404(client, world):
    item = _item(world, "resident_a", "王秀英")
    client.force_login(world.users["staff_a"])
    assert client.post(f"/notifications/{item.pk}/read/").status_code == 404
    item.refresh_from_db()
    assert item.read_at is None


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/notifications/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
