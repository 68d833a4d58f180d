"""Open311 GeoReport v2: every endpoint in XML and JSON, the errors envelope, privacy and paging."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from linli.core.testing import make_token
from linli.tickets import actions
from linli.tickets.models import Ticket

from .conftest import T0, counts

BASE = "/open311/v2"
A = "421202001001"  # 梅园社区 (community A)
B = "421202001002"  # 桂花社区
WINDOW = {"start_date": "2026-04-01T00:00:00+08:00", "end_date": "2026-05-01T00:00:00+08:00"}


def get_json(client, path: str, **query):
    response = client.get(f"{BASE}/{path}.json", query)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def get_xml(client, path: str, **query):
    response = client.get(f"{BASE}/{path}.xml", query)
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
    return response.status_code, ET.fromstring(response.content)


def xml_error(root: ET.Element) -> list[tuple[str, str]]:
    assert root.tag == "errors"
    return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]


# ------------------------------------------------------------------------------------------------ discovery

def test_given_the_server_when_discovery_is_read_then_it_lists_the_v2_endpoint_in_both_formats(client):
    status, body = get_json(client, "discovery")
    assert status == 200
    assert body["endpoints"] == [{"specification": "http://wiki.open311.org/GeoReport_v2",
                                  "url": "http://testserver/open311/v2/", "changeset": "2026-04-23T00:00:00+08:00",
                                  "type": "production", "formats": ["text/xml", "application/json"]}]
    status, root = get_xml(client, "discovery")
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


# ------------------------------------------------------------------------------------------------- services

def test_given_the_default_categories_when_services_are_listed_then_each_is_a_realtime_service(client, desk):
    status, body = get_json(client, "services", jurisdiction_id=A)
    assert status == 200
    assert len(body) == 9
    assert body[0] == {"service_code": "water-power", "service_name": "水电",
                       "description": "water and power: 响应30分钟，办结24小时", "metadata": True,
                       "type": "realtime", "keywords": "water-power,water and power", "group": "物业公司"}
    assert [s["service_code"] for s in body][-1] == "other"


def test_given_xml_when_services_are_listed_then_metadata_is_true_and_codes_are_text(client, desk):
    status, root = get_xml(client, "services", jurisdiction_id=A)
    assert status == 200
    first = root.find("service")
    assert [c.tag for c in first] == ["service_code", "service_name", "description", "metadata", "type",
                                      "keywords", "group"]
    assert (first.findtext("service_code"), first.findtext("metadata"), first.findtext("group")) == (
        "water-power", "true", "物业公司")


def test_given_a_service_code_when_its_definition_is_read_then_kind_and_visit_time_are_attributes(client, desk):
    status, body = get_json(client, "services/noise", jurisdiction_id=A)
    assert status == 200
    assert body["service_code"] == "noise"
    kind, visit = body["attributes"]
    assert (kind["code"], kind["datatype"], kind["required"], kind["order"]) == ("kind", "singlevaluelist", False, 1)
    assert kind["values"][0] == {"key": "repair", "name": "报修"}
    assert [v["key"] for v in kind["values"]] == ["repair", "complaint", "consultation", "suggestion", "praise"]
    assert (visit["code"], visit["datatype"], visit["values"]) == ("preferred_time", "datetime", [])
    status, root = get_xml(client, "services/noise", jurisdiction_id=A)
    assert root.tag == "service_definition"
    assert [a.findtext("code") for a in root.findall("attributes/attribute")] == ["kind", "preferred_time"]
    assert root.find("attributes/attribute/values/value/name").text == "报修"


def test_given_an_unknown_service_code_when_read_then_404_in_the_errors_envelope(client, desk):
    assert get_json(client, "services/nope", jurisdiction_id=A) == (
        404, [{"code": 404, "description": "unknown service_code 'nope'"}])
    status, root = get_xml(client, "services/nope", jurisdiction_id=A)
    assert (status, xml_error(root)) == (404, [("404", "unknown service_code 'nope'")])


def test_given_no_or_an_unknown_jurisdiction_when_services_are_read_then_400_or_404(client, desk):
    assert get_json(client, "services") == (
        400, [{"code": 400, "description": "jurisdiction_id is required (the community code)"}])
    assert get_json(client, "services", jurisdiction_id="999") == (
        404, [{"code": 404, "description": "unknown jurisdiction_id '999'"}])


# ------------------------------------------------------------------------------------------------ submitting

def post(client, fmt: str = "json", **form):
    return client.post(f"{BASE}/requests.{fmt}", {"jurisdiction_id": A, **form})


def test_given_a_staff_key_when_a_request_is_posted_then_a_hotline_ticket_is_filed_at_the_nearest_estate(client, desk):
    key = make_token(desk.user("staff_a"))
    response = post(client, api_key=key, service_code="noise", lat="29.8330", long="114.2960",
                    description="广场舞音响太吵", first_name="先生", last_name="张", **{
                        "attribute[kind]": "complaint", "attribute[preferred_time]": "2026-04-24T09:00:00+08:00"})
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert json.loads(response.content) == [{"service_request_id": str(ticket.pk), "token": ticket.number,
                                             "service_notice": "", "account_id": None}]
    assert (ticket.channel, ticket.kind, ticket.category.code, ticket.place_id, ticket.reporter_name,
            ticket.reporter_id, ticket.latitude, ticket.longitude, ticket.description) == (
        "hotline", "complaint", "noise", desk.world.estate_a.pk, "张 先生", None, 29.833, 114.296, "广场舞音响太吵")
    assert ticket.preferred_from == dt.datetime(2026, 4, 24, 1, 0, tzinfo=dt.UTC)
    assert ticket.organisation == desk.committee_a


def test_given_a_residents_key_when_a_request_is_posted_in_xml_then_it_is_their_own_app_ticket(client, desk):
    key = make_token(desk.user("resident_a"))
    response = post(client, "xml", api_key=key, service_code="greenery", address_string="祥和苑 3栋门口",
                    description="树枝挡路", first_name="不", last_name="用")
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == str(ticket.pk)
    assert (ticket.channel, ticket.reporter, ticket.reporter_name, ticket.place_id, ticket.latitude) == (
        "app", desk.world.resident_a, "", desk.world.estate_a.pk, None)


@pytest.mark.parametrize(("form", "status", "description"), [
    ({"service_code": "noise", "lat": "29.8", "long": "114.3"}, 400, "api_key is required"),
    ({"api_key": "ll_wrong", "service_code": "noise", "lat": "29.8", "long": "114.3"}, 403, "invalid api_key"),
    ({"api_key": "KEY", "service_code": "nope", "lat": "29.8", "long": "114.3"}, 404, "unknown service_code 'nope'"),
    ({"api_key": "KEY", "service_code": "noise"}, 400, "a location is required: lat and long, or address_string"),
    ({"api_key": "KEY", "service_code": "noise", "lat": "91", "long": "114.3"}, 400, "lat must be a number between -90 and 90"),
    ({"api_key": "KEY", "service_code": "noise", "lat": "29.8", "long": "114.3", "attribute[kind]": "x"}, 400,
     "attribute[kind] must be one of repair, complaint, consultation, suggestion, praise"),
    ({"api_key": "KEY", "service_code": "noise", "lat": "29.8", "long": "114.3", "description": "<b>x</b>"}, 400,
     "description may not contain HTML"),
    ({"api_key": "KEY", "service_code": "noise", "lat": "29.8", "long": "114.3"}, 400, "description: describe the problem"),
])
def test_given_bad_input_when_a_request_is_posted_then_the_error_envelope_and_nothing_written(client, desk, form,
                                                                                             status, description):
    if form.get("api_key") == "KEY":
        form["api_key"] = make_token(desk.user("staff_a"))
    before = counts()
    response = post(client, **form)
    assert (response.status_code, json.loads(response.content)) == (status, [{"code": status, "description": description}])
    assert counts() == before
    response = post(client, "xml", **form)
    assert xml_error(ET.fromstring(response.content)) == [(str(status), description)]
    assert counts() == before


def test_given_a_key_of_staff_from_another_community_when_posting_then_403_and_nothing_written(client, desk):
    key = make_token(desk.user("staff_b"))
    before = counts()
    response = post(client, api_key=key, service_code="noise", address_string="祥和苑", description="吵")
    assert (response.status_code, json.loads(response.content)) == (
        403, [{"code": 403, "description": "the api_key's user may not file this request"}])
    assert counts() == before


# --------------------------------------------------------------------------------------------------- reading

def expected(ticket: Ticket, desk, **changes) -> dict:
    row = {"service_request_id": str(ticket.pk), "status": "open", "status_notes": "submitted 待受理",
           "service_name": "环境卫生", "service_code": "sanitation", "description": "报修：环境卫生",
           "agency_responsible": "祥和物业", "service_notice": "", "requested_datetime": "2026-04-23T10:00:00+08:00",
           "updated_datetime": "2026-04-23T10:00:00+08:00", "expected_datetime": "2026-04-24T10:00:00+08:00",
           "address": "梅园社区祥和苑", "address_id": None, "zipcode": None, "lat": 29.8331, "long": 114.2961,
           "media_url": None}
    return {**row, **changes}


def test_given_a_residents_ticket_when_requests_are_read_then_only_the_public_projection_is_shown(client, desk):
    ticket = desk.submit(longitude=114.29612345, latitude=29.83312345)
    status, body = get_json(client, "requests", jurisdiction_id=A, **WINDOW)
    assert (status, body) == (200, [expected(ticket, desk)])
    response = client.get(f"{BASE}/requests.xml", {"jurisdiction_id": A, **WINDOW})
    text = response.content.decode()
    for private in ("王秀英", "138", "101", "厨房水管漏水", "1单元", "1栋", "29.83312345"):
        assert private not in text and private not in json.dumps(body, ensure_ascii=False)
    request = ET.fromstring(response.content).find("request")
    assert {c.tag: (c.text or "") for c in request} == {
        k: ("" if v is None else str(v)) for k, v in expected(ticket, desk).items()}


def test_given_an_estate_without_coordinates_when_read_then_the_point_is_rounded_to_about_100_m(client, desk):
    ticket = desk.submit(by="staff_b", place=desk.world.dwelling_b, channel="phone", longitude=114.30123,
                         latitude=29.84567, code="noise")
    status, body = get_json(client, "requests", jurisdiction_id=B, **WINDOW)
    assert [(r["service_request_id"], r["address"], r["lat"], r["long"]) for r in body] == [
        (str(ticket.pk), "桂花社区桂花苑", 29.846, 114.301)]


def test_given_tickets_in_two_communities_when_one_request_is_read_then_the_other_jurisdiction_is_404(client, desk):
    ticket_a = desk.submit()
    assert get_json(client, f"requests/{ticket_a.pk}", jurisdiction_id=A) == (200, [expected(ticket_a, desk)])
    status, root = get_xml(client, f"requests/{ticket_a.pk}", jurisdiction_id=A)
    assert root.findtext("request/service_request_id") == str(ticket_a.pk)
    assert get_json(client, f"requests/{ticket_a.pk}", jurisdiction_id=B) == (
        404, [{"code": 404, "description": f"unknown service_request_id '{ticket_a.pk}'"}])


def test_given_a_closed_ticket_when_filtering_by_status_then_open_and_closed_split(client, desk):
    kept = desk.submit()
    gone = desk.submit(now=T0 + dt.timedelta(minutes=1))
    actions.withdraw_ticket(actor=desk.actor("resident_a"), ticket=gone, reason="修好了", now=T0 + dt.timedelta(minutes=2))
    _, open_rows = get_json(client, "requests", jurisdiction_id=A, status="open", **WINDOW)
    _, closed_rows = get_json(client, "requests", jurisdiction_id=A, status="closed", **WINDOW)
    _, both = get_json(client, "requests", jurisdiction_id=A, status="open,closed", **WINDOW)
    assert [r["service_request_id"] for r in open_rows] == [str(kept.pk)]
    assert [(r["service_request_id"], r["status"], r["status_notes"], r["expected_datetime"]) for r in closed_rows] == [
        (str(gone.pk), "closed", "withdrawn 已撤回", None)]
    assert [r["service_request_id"] for r in both] == [str(gone.pk), str(kept.pk)]


def test_given_filters_when_requests_are_read_then_ids_override_and_codes_select(client, desk):
    noise = desk.submit(code="noise", now=T0)
    clean = desk.submit(code="sanitation", now=T0 + dt.timedelta(minutes=1))
    old = desk.submit(code="noise", now=T0 - dt.timedelta(days=200))
    ids = lambda rows: [r["service_request_id"] for r in rows]  # noqa: E731
    assert ids(get_json(client, "requests", jurisdiction_id=A, service_code="noise", **WINDOW)[1]) == [str(noise.pk)]
    assert ids(get_json(client, "requests", jurisdiction_id=A, service_code="noise,sanitation", **WINDOW)[1]) == [
        str(clean.pk), str(noise.pk)]
    assert ids(get_json(client, "requests", jurisdiction_id=A, service_request_id=f"{old.pk},{clean.pk}",
                        service_code="noise", **WINDOW)[1]) == [str(clean.pk), str(old.pk)]


def test_given_no_dates_when_requests_are_read_then_the_last_90_days_are_shown(client, desk):
    now = timezone.now()
    recent = desk.submit(now=now - dt.timedelta(days=89))
    desk.submit(now=now - dt.timedelta(days=91))
    assert [r["service_request_id"] for r in get_json(client, "requests", jurisdiction_id=A)[1]] == [str(recent.pk)]


@pytest.mark.parametrize(("query", "description"), [
    ({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-05-01T00:00:00+08:00"},
     "start_date to end_date may not span more than 90 days"),
    ({"start_date": "2026-05-01T00:00:00+08:00", "end_date": "2026-04-01T00:00:00+08:00"},
     "end_date is before start_date"),
    ({"start_date": "yesterday"}, "start_date is not a W3C datetime such as 2026-04-23T09:30:00+08:00"),
    ({"status": "pending"}, "status must be open or closed"),
    ({"service_request_id": "1,x"}, "service_request_id must be a comma-separated list of numbers"),
    ({"page_size": "501"}, "page_size may not exceed 500"),
    ({"page": "0"}, "page must be a positive whole number"),
])
def test_given_bad_query_parameters_when_requests_are_read_then_400_in_both_formats(client, desk, query, description):
    assert get_json(client, "requests", jurisdiction_id=A, **query) == (400, [{"code": 400, "description": description}])
    status, root = get_xml(client, "requests", jurisdiction_id=A, **query)
    assert (status, xml_error(root)) == (400, [("400", description)])


def test_given_five_tickets_when_paged_chicago_style_then_pages_follow_newest_first(client, desk, django_assert_max_num_queries):
    made = [desk.submit(now=T0 + dt.timedelta(minutes=i)) for i in range(5)]
    newest_first = [str(t.pk) for t in reversed(made)]
    pages = []
    for number in (1, 2, 3, 4):
        with django_assert_max_num_queries(3):
            _, rows = get_json(client, "requests", jurisdiction_id=A, page=number, page_size=2, **WINDOW)
        pages.append([r["service_request_id"] for r in rows])
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:], []]
    _, rows = get_json(client, "requests", jurisdiction_id=A, page=1, **WINDOW)
    assert len(rows) == 5


def test_given_a_filed_ticket_when_its_token_is_read_then_the_request_id_is_answered(client, desk):
    ticket = desk.submit()
    assert get_json(client, f"tokens/{ticket.number}", jurisdiction_id=A) == (
        200, [{"service_request_id": str(ticket.pk), "token": ticket.number}])
    status, root = get_xml(client, f"tokens/{ticket.number}", jurisdiction_id=A)
    assert root.findtext("request/service_request_id") == str(ticket.pk)
    wrong_day = f"20250101-{ticket.pk:06d}"
    assert get_json(client, f"tokens/{wrong_day}", jurisdiction_id=A) == (
        404, [{"code": 404, "description": f"unknown token '{wrong_day}'"}])


def test_given_status_changes_when_updates_are_read_then_extended_statuses_without_notes(client, desk):
    ticket = desk.submit()
    actions.accept_ticket(actor=desk.actor("property_a"), ticket=ticket, now=T0 + dt.timedelta(minutes=5))
    status, body = get_json(client, "servicerequestupdates", jurisdiction_id=A, **WINDOW)
    assert status == 200
    assert [(u["service_request_id"], u["status"], u["updated_datetime"], u["description"]) for u in body] == [
        (str(ticket.pk), "open", "2026-04-23T10:00:00+08:00", "待受理"),
        (str(ticket.pk), "investigating", "2026-04-23T10:05:00+08:00", "已受理")]
    assert all(isinstance(u["update_id"], str) for u in body)
    status, root = get_xml(client, "servicerequestupdates", jurisdiction_id=A, **WINDOW)
    assert [u.findtext("status") for u in root.findall("request_update")] == ["open", "investigating"]
