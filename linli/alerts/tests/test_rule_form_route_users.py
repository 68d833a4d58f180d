"""The rule form's picker of people notified directly (``Rule.route_users``): it offers the users of the actor's
area by name, role and place (the same scoped query the API checks), shows a rule's current people selected and
keeps them on an unchanged save, refuses a hand-posted user from elsewhere naming the field in Chinese and English
with nothing written, and the rule list shows who is notified."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.accounts.models import Profile
from linli.core.models import AuditEntry
from linli.core.permissions import Role
from linli.core.testing import make_user

from ..actions import SYSTEM, create_rule
from ..models import Alert, Rule
from .helpers import counts, event, local, push

pytestmark = pytest.mark.django_db

LOITERING = {"code": "loitering", "name": "徘徊", "event_kinds": ["camera.loitering"], "severity": "minor"}


def login(client, world, name: str, language: str = "zh-hans"):
    client.force_login(world.users[name])
    client.cookies["django_language"] = language
    return client


def rule_post(**fields) -> dict:
    data = {"code": "loitering", "name": "徘徊（梅园）", "name_en": "loitering (Meiyuan)", "severity": "minor",
            "event_kinds": ["camera.loitering"], "repeat_count": "1", "route_roles": ["property_staff"],
            "enabled": "on"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def ids(*names, world) -> list[str]:
    return [str(world.users[n].pk) for n in names]


def offered(response) -> dict[str, str]:
    return {value: str(label) for value, label in response.context["form"].fields["route_users"].choices}


def routed(rule: Rule) -> list[str]:
    return sorted(u.username for u in Rule.objects.get(pk=rule.pk).route_users.all())


def test_given_community_staff_when_the_new_rule_form_opens_then_it_offers_their_areas_users_by_name_role_and_place(
        world, client):
    Profile.objects.create(user=world.users["grid_a"], display_name="张网格")
    make_user("gone_a", Role.GRID_WORKER, world.community_a, is_active=False)

    page = login(client, world, "staff_a").get("/alerts/rules/new/", {"place": world.community_a.pk})

    choices = offered(page)
    assert sorted(choices) == sorted(ids("resident_a", "grid_a", "property_a", "committee_a", "staff_a", world=world))
    assert choices[str(world.users["grid_a"].pk)] == "张网格（grid_a） · 网格员 梅园社区"
    assert choices[str(world.users["property_a"].pk)] == "property_a · 物业人员 祥和苑"
    html = page.content.decode()
    assert '<select name="route_users"' in html and 'size="10"' in html and "multiple" in html
    assert "直接通知人员" in html and "张网格（grid_a）" in html and "staff_b" not in html

    english = login(client, world, "staff_a", "en").get("/alerts/rules/new/", {"place": world.community_a.pk})
    assert offered(english)[str(world.users["staff_a"].pk)] == "staff_a · Community staff 梅园社区"
    assert "People notified directly" in english.content.decode()


def test_given_a_street_admin_when_the_form_opens_then_both_communities_people_are_offered(world, client):
    choices = offered(login(client, world, "street_admin").get("/alerts/rules/new/", {"place": world.street.pk}))
    assert {str(world.users[n].pk) for n in ("staff_a", "staff_b", "street_admin")} <= set(choices)
    assert str(world.users["district_admin"].pk) not in choices


def test_given_people_picked_when_a_rule_is_saved_then_they_are_notified_and_the_list_names_them(
        world, client, camera):
    login(client, world, "staff_a")

    response = client.post("/alerts/rules/new/", rule_post(place=world.community_a.pk,
                                                           route_users=ids("grid_a", "staff_a", world=world)))

    assert response.status_code == 302
    rule = Rule.objects.get(place=world.community_a, code="loitering")
    assert routed(rule) == ["grid_a", "staff_a"]
    listing = client.get("/alerts/rules/", {"place": world.community_a.pk})
    row = next(r for g in listing.context["groups"] for r in g["rules"] if r.pk == rule.pk)
    assert (row.routes, row.route_people) == (["物业人员"], ["grid_a", "staff_a"])
    assert "直接通知：grid_a、staff_a" in listing.content.decode()
    push(camera, event("camera.loitering", local(23, 23)))
    assert Alert.objects.get(kind="loitering").recipient_ids == sorted(
        world.users[n].pk for n in ("grid_a", "property_a", "staff_a"))


def test_given_a_rule_with_people_when_edited_then_they_show_selected_and_an_unchanged_save_keeps_them(world, client):
    rule = create_rule(actor=SYSTEM, place=world.community_a, fields=LOITERING,
                       route_users=[world.users["grid_a"], world.users["property_a"]])
    login(client, world, "staff_a")

    page = client.get(f"/alerts/rules/{rule.pk}/edit/")

    form = page.context["form"]
    assert form.initial["route_users"] == sorted(ids("grid_a", "property_a", world=world))
    html = page.content.decode()
    for name in ("grid_a", "property_a"):
        assert f'<option value="{world.users[name].pk}" selected>' in html
    assert f'<option value="{world.users["staff_a"].pk}">' in html

    # the browser posts back what is selected
    saved = client.post(f"/alerts/rules/{rule.pk}/edit/", rule_post(
        code=None, name="徘徊", route_users=form.initial["route_users"]))
    assert saved.status_code == 302 and routed(rule) == ["grid_a", "property_a"]

    dropped = client.post(f"/alerts/rules/{rule.pk}/edit/", rule_post(
        code=None, name="徘徊", route_users=ids("staff_a", world=world)))
    assert dropped.status_code == 302 and routed(rule) == ["staff_a"]
    cleared = client.post(f"/alerts/rules/{rule.pk}/edit/", rule_post(code=None, name="徘徊"))
    assert cleared.status_code == 302 and routed(rule) == []


def test_given_a_rule_routed_outside_the_editors_area_when_saved_unchanged_then_that_person_stays(world, client):
    rule = create_rule(actor=SYSTEM, place=world.community_a, fields=LOITERING,
                       route_users=[world.users["street_admin"], world.users["grid_a"]])
    login(client, world, "staff_a")

    page = client.get(f"/alerts/rules/{rule.pk}/edit/")

    assert offered(page)[str(world.users["street_admin"].pk)] == "street_admin · 不在您的管辖范围"
    assert f'<option value="{world.users["street_admin"].pk}" selected>' in page.content.decode()
    saved = client.post(f"/alerts/rules/{rule.pk}/edit/", rule_post(
        code=None, name="徘徊", route_users=page.context["form"].initial["route_users"]))
    assert saved.status_code == 302 and routed(rule) == ["grid_a", "street_admin"]
    # kept, not a way in: the same person cannot be put on another rule by this editor
    other = client.post("/alerts/rules/new/", rule_post(
        place=world.community_a.pk, code="night_intrusion", route_users=ids("street_admin", world=world)))
    assert other.status_code == 422 and list(other.context["form"].errors) == ["route_users"]


@pytest.mark.parametrize("language, message", [("zh-hans", "接收人不存在或不在您的管辖范围"),
                                               ("en", "unknown user in your area")])
def test_given_a_user_of_another_community_posted_by_hand_when_a_rule_is_created_then_422_and_nothing_written(
        world, client, language, message):
    login(client, world, "staff_a", language)
    before = counts()

    response = client.post("/alerts/rules/new/", rule_post(
        place=world.community_a.pk, route_users=ids("grid_a", "staff_b", world=world)))

    assert response.status_code == 422
    assert dict(response.context["form"].errors) == {"route_users": [message]}
    assert message in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize("posted", [["staff_b"], ["district_admin"], ["sysadmin"], ["nobody"], ["abc"], ["999999"]])
def test_given_an_edit_with_a_user_outside_the_area_when_saved_then_422_and_the_rule_unchanged(world, client, posted):
    rule = create_rule(actor=SYSTEM, place=world.community_a, fields=LOITERING, route_users=[world.users["grid_a"]])
    login(client, world, "staff_a")
    before = (counts(), AuditEntry.objects.filter(target_id=str(rule.pk)).count())
    values = [str(world.users[p].pk) if p in world.users else p for p in posted]

    response = client.post(f"/alerts/rules/{rule.pk}/edit/", rule_post(
        code=None, name="徘徊（改）", severity="major", route_users=ids("grid_a", world=world) + values))

    assert response.status_code == 422
    assert response.context["form"].errors["route_users"] == ["接收人不存在或不在您的管辖范围"]
    rule.refresh_from_db()
    assert (rule.name, rule.severity, routed(rule)) == ("徘徊", "minor", ["grid_a"])
    assert (counts(), AuditEntry.objects.filter(target_id=str(rule.pk)).count()) == before


def test_given_the_api_when_a_user_outside_the_area_is_sent_then_the_same_rule_refuses_it(world):
    from django.test import Client

    from linli.core.testing import make_token

    api = Client(headers={"Authorization": f"Bearer {make_token(world.users['staff_a'])}"})
    before = counts()
    body = {"place_id": world.community_a.pk, **LOITERING, "route_user_ids": [world.users["staff_b"].pk]}
    answer = api.post("/api/v1/alert-rules", body, content_type="application/json")
    assert answer.status_code == 422
    assert [(e["field"], e["message_zh"]) for e in answer.json()["errors"]] == [
        ("route_user_ids", "接收人不存在或不在您的管辖范围")]
    assert counts() == before


def test_given_rules_with_more_people_when_listed_then_the_query_count_stays_the_same(world, client):
    rule = create_rule(actor=SYSTEM, place=world.community_a, fields=LOITERING, route_users=[world.users["grid_a"]])
    login(client, world, "staff_a")
    client.get("/alerts/rules/", {"place": world.community_a.pk})
    with CaptureQueriesContext(connection) as one:
        client.get("/alerts/rules/", {"place": world.community_a.pk})
    rule.route_users.set([world.users[n] for n in ("grid_a", "property_a", "staff_a", "committee_a")])
    create_rule(actor=SYSTEM, place=world.estate_a, fields={**LOITERING, "name": "徘徊（祥和苑）"},
                route_users=[world.users["property_a"]])
    with CaptureQueriesContext(connection) as many:
        page = client.get("/alerts/rules/", {"place": world.community_a.pk})
    assert len(many) == len(one)
    assert "grid_a、property_a、committee_a、staff_a" in page.content.decode()
