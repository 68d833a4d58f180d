"""The tickets API: submit and follow, scope (other communities' tickets are 404, residents see their own),
errors that name the field in zh and en and write nothing, constant query counts, photos, ratings, KPIs."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.core.testing import make_token
from linli.tickets import actions
from linli.tickets.models import Category

from .conftest import T0, counts
from .images import jpeg


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


class Api:
    def __init__(self, desk):
        self.desk = desk
        self.client = Client()
        # Issued up front: issuing one is audited, and tests count audit entries.
        self.tokens = {name: make_token(user) for name, user in desk.world.users.items()}

    def _headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, url: str):
        return self.client.get("/api/v1" + url, headers=self._headers(who))

    def post(self, who: str, url: str, body: dict | None = None):
        return self.client.post("/api/v1" + url, json.dumps(body or {}), content_type="application/json",
                                headers=self._headers(who))

    def patch(self, who: str, url: str, body: dict):
        return self.client.patch("/api/v1" + url, json.dumps(body), content_type="application/json",
                                 headers=self._headers(who))

    def upload(self, who: str, url: str, data: dict):
        return self.client.post("/api/v1" + url, data, headers=self._headers(who))


@pytest.fixture
def api(desk) -> Api:
    return Api(desk)


def _body(desk, **extra) -> dict:
    return {"kind": "repair", "category_id": desk.category("parking").pk, "place_id": desk.world.dwelling_a.pk,
            "description": "车位被占用", **extra}


def test_given_a_resident_when_they_submit_and_follow_a_ticket_then_the_detail_shows_history_and_next_steps(api, desk):
    response = api.post("resident_a", "/tickets", _body(desk))
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["channel"], data["organisation_name"], data["reporter_name"]) == (
        "submitted", "app", "祥和物业", "王秀英")
    assert [e["action"] for e in data["events"]] == ["submit"]
    assert data["allowed_actions"] == ["withdraw"]
    staff = api.get("staff_a", f"/tickets/{data['id']}").json()
    assert staff["allowed_actions"] == ["accept", "reject"]
    accepted = api.post("staff_a", f"/tickets/{data['id']}/accept", {"note": "已收到"}).json()
    assert accepted["status"] == "accepted" and accepted["status_label"] == "已受理"


def test_given_a_ticket_of_community_a_when_staff_of_b_ask_or_act_then_it_does_not_exist_for_them(api, desk):
    ticket = desk.submit()
    before = counts()
    for response in (api.get("staff_b", f"/tickets/{ticket.pk}"), api.post("staff_b", f"/tickets/{ticket.pk}/accept"),
                     api.post("staff_b", f"/tickets/{ticket.pk}/comment", {"note": "x"})):
        assert response.status_code == 404
        assert response.json()["message_en"] == "ticket not found"
    assert counts() == before
    assert api.get("staff_b", "/tickets").json()["count"] == 0


def test_given_tickets_of_several_people_when_a_resident_lists_then_only_their_own_come_back(api, desk):
    own = desk.submit()
    actions.submit_ticket(actor=desk.actor("staff_a"), kind="repair", category=desk.category("parking"),
                          place=desk.world.dwelling_a2, description="邻居报修", channel="walk_in")
    actions.submit_ticket(actor=desk.actor("staff_b"), kind="repair", category=desk.category("noise"),
                          place=desk.world.dwelling_b, description="B 的工单", channel="phone")
    assert [t["id"] for t in api.get("resident_a", "/tickets").json()["items"]] == [own.pk]
    assert api.get("staff_a", "/tickets").json()["count"] == 2
    assert api.get("street_admin", "/tickets").json()["count"] == 3


def test_given_bad_input_when_submitted_then_each_field_is_named_in_zh_and_en_and_nothing_is_written(api, desk):
    before = counts()
    response = api.post("resident_a", "/tickets", _body(desk, description="  ", longitude=200.0))
    assert response.status_code == 422
    fields = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert fields == {("description", "required"), ("longitude", "out_of_range"), ("latitude", "required")}
    assert all(e["message_zh"] and e["message_en"] for e in response.json()["errors"])
    # A property-company category at the community itself: no property company is responsible there.
    wrong = api.post("staff_a", "/tickets", _body(desk, place_id=desk.world.community_a.pk, channel="phone"))
    assert wrong.status_code == 422
    assert [(e["field"], e["code"]) for e in wrong.json()["errors"]] == [("category_id", "no_organisation")]
    staff_without_channel = api.post("staff_a", "/tickets", _body(desk))
    assert [e["field"] for e in staff_without_channel.json()["errors"]] == ["channel"]
    other_home = api.post("resident_a", "/tickets", _body(desk, place_id=desk.world.dwelling_a2.pk))
    assert other_home.status_code == 404
    assert counts() == before


def test_given_a_resident_when_they_pick_a_public_spot_of_their_estate_then_it_is_accepted(api, desk):
    response = api.post("resident_a", "/tickets", _body(desk, place_id=desk.world.estate_a.pk))
    assert response.status_code == 201 and response.json()["place_name"] == "祥和苑"
    other_estate = api.post("resident_a", "/tickets", _body(desk, place_id=desk.world.estate_b.pk))
    assert other_estate.status_code == 404


def test_given_an_illegal_step_when_posted_then_the_409_names_the_status_and_the_step_in_zh_and_en(api, desk):
    ticket = desk.submit()
    before = counts()
    response = api.post("property_a", f"/tickets/{ticket.pk}/resolve", {"note": "好了"})
    assert response.status_code == 409
    assert response.json()["message_en"] == "the ticket is submitted: resolve is not allowed now"
    assert response.json()["message_zh"] == "工单当前状态为“待受理”，不能执行“办结”"
    assert counts() == before


def test_given_more_tickets_when_staff_list_them_then_the_query_count_stays_the_same(api, desk):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("staff_a", "/tickets?limit=50").status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        desk.submit()
    api.get("staff_a", "/tickets")  # the token's first use records its time
    few = queries_for_list()
    for _ in range(8):
        t = desk.submit(code="water-power")
        actions.accept_ticket(actor=desk.actor("staff_a"), ticket=t)
    many = queries_for_list()
    assert api.get("staff_a", "/tickets").json()["count"] == 10
    assert few == many


def test_given_a_filter_when_listing_then_only_matching_tickets_come_back(api, desk):
    t1 = desk.submit(code="parking")
    desk.submit(code="sanitation", description="垃圾未清运")
    actions.accept_ticket(actor=desk.actor("staff_a"), ticket=t1, now=T0)

    def ids(query: str) -> list[int]:
        return [t["id"] for t in api.get("staff_a", "/tickets?" + query).json()["items"]]
    assert ids("status=accepted") == [t1.pk]
    assert ids(f"category_id={desk.category('parking').pk}") == [t1.pk]
    assert len(ids("q=垃圾")) == 1 and ids(f"q={t1.number}") == [t1.pk]
    assert ids("overdue=true") == [] and len(ids("overdue=false")) == 2
    assert api.get("staff_a", "/tickets?status=nonsense").status_code == 422


def test_given_photos_when_uploaded_through_the_api_then_they_are_stored_clean_and_served_to_those_who_see_the_ticket(api, desk):
    ticket = desk.submit()
    response = api.upload("resident_a", f"/tickets/{ticket.pk}/photos", {
        "stage": "report", "photos": [SimpleUploadedFile("a.jpg", jpeg(gps=True), content_type="image/jpeg")]})
    assert response.status_code == 201, response.content
    [photo] = response.json()
    image = api.get("staff_a", photo["url"].removeprefix("/api/v1"))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert api.get("staff_b", photo["url"].removeprefix("/api/v1")).status_code == 404
    before = counts()
    refused = api.upload("resident_a", f"/tickets/{ticket.pk}/photos", {
        "stage": "report", "photos": [SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "photos[0]"
    assert counts() == before


def test_given_a_closed_ticket_when_rated_twice_through_the_api_then_the_second_is_a_409_naming_the_rating(api, desk):
    a = desk.actor
    t = actions.accept_ticket(actor=a("staff_a"), ticket=desk.submit(code="parking"))
    t = actions.assign_ticket(actor=a("staff_a"), ticket=t, assignee_id=desk.user("property_a").pk)
    t = actions.start_ticket(actor=a("property_a"), ticket=t)
    t = actions.resolve_ticket(actor=a("property_a"), ticket=t, note="好了")
    t = actions.confirm_ticket(actor=a("resident_a"), ticket=t)
    first = api.post("resident_a", f"/tickets/{t.pk}/rating", {"overall": 5, "speed": 5, "attitude": 4})
    assert first.status_code == 201
    before = counts()
    second = api.post("resident_a", f"/tickets/{t.pk}/rating", {"overall": 1, "speed": 1, "attitude": 1})
    assert second.status_code == 409 and second.json()["errors"][0]["field"] == "rating"
    assert counts() == before
    assert api.get("resident_a", f"/tickets/{t.pk}").json()["rating"]["overall"] == 5


def test_given_community_staff_when_they_add_and_change_a_category_then_residents_may_not(api, desk):
    body = {"code": "lift", "name": "电梯", "place_id": desk.world.community_a.pk, "response_minutes": 15,
            "resolution_hours": 8, "dispatch_mode": "round_robin", "organisation_kind": "property_company"}
    created = api.post("staff_a", "/tickets/categories", body)
    assert created.status_code == 201, created.content
    cat = created.json()
    assert (cat["place_path"], cat["dispatch_mode"]) == (desk.world.community_a.path, "round_robin")
    changed = api.patch("staff_a", f"/tickets/categories/{cat['id']}", {"resolution_hours": 4})
    assert changed.json()["resolution_hours"] == 4
    assert api.patch("resident_a", f"/tickets/categories/{cat['id']}", {"resolution_hours": 1}).status_code == 403
    assert api.patch("staff_b", f"/tickets/categories/{cat['id']}", {"resolution_hours": 1}).status_code == 404
    bad = api.patch("staff_a", f"/tickets/categories/{cat['id']}", {"response_minutes": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "response_minutes"
    usable = [c["code"] for c in api.get("resident_a", f"/tickets/categories?place_id={desk.world.dwelling_a.pk}").json()]
    assert "lift" in usable and len(usable) == Category.objects.filter(place_path="").count() + 1


def test_given_the_kpi_endpoints_when_called_then_figures_come_with_targets_and_the_xlsx_downloads(api, desk):
    desk.submit(now=timezone.now())  # the default period is the last 30 days
    data = api.get("staff_a", "/tickets/kpis?group=category").json()
    assert data["total"]["tickets"] == 1 and data["targets"]["satisfaction_rate"] == 0.95
    assert [r["label"] for r in data["rows"]] == ["环境卫生"]
    xlsx = api.get("staff_a", "/tickets/kpis.xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert api.get("resident_a", "/tickets/kpis").status_code == 403
