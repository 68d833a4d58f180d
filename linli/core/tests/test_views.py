"""The console shell: login, language, navigation, the home page counts and the audit log, by role and scope."""

from __future__ import annotations

import pytest
from django.urls import reverse

from linli.core.models import AuditEntry
from linli.core.testing import PASSWORD

pytestmark = pytest.mark.django_db

CONSOLE_URLS = ["/", "/audit/", "/places/", "/people/", "/people/import/"]


def login(client, world, name: str):
    client.force_login(world.users[name])
    return client


@pytest.mark.parametrize("url", CONSOLE_URLS)
def test_given_no_session_when_a_console_page_is_opened_then_the_login_page_is_shown(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_given_valid_credentials_when_logging_in_then_the_home_page_follows(client, world):
    response = client.post("/login/", {"username": "staff_a", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_given_a_wrong_password_when_logging_in_then_the_form_says_so_in_chinese(client, world):
    response = client.post("/login/", {"username": "staff_a", "password": "wrong"})

    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_given_the_english_switch_when_pages_render_then_they_are_in_english(client, world):
    login(client, world, "staff_a")
    zh = client.get("/").content.decode()

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    en = client.get("/").content.decode()

    assert "<title>工作台 · 邻里 社区治理平台</title>" in zh
    assert "<title>Dashboard · Linli community platform</title>" in en
    assert ">Community staff</span>" in en and "梅园社区" in en


def test_given_community_staff_when_the_home_page_opens_then_the_nav_shows_their_role_place_and_pages(client, world):
    html = login(client, world, "staff_a").get("/").content.decode()

    assert '<span class="role">社区工作人员</span> <span class="role-place">梅园社区</span>' in html
    for url in ("/places/", "/people/", "/people/import/", "/audit/"):
        assert f'href="{url}"' in html


def test_given_property_staff_when_the_home_page_opens_then_import_and_audit_are_not_offered(client, world):
    html = login(client, world, "property_a").get("/").content.decode()

    assert 'href="/people/"' in html
    assert 'href="/people/import/"' not in html
    assert 'href="/audit/"' not in html


@pytest.mark.parametrize("name", ["resident_a", "grid_a", "property_a", "committee_a", "staff_a", "staff_b",
                                  "street_admin", "district_admin", "sysadmin", "nobody"])
def test_given_any_persona_when_the_home_page_and_its_menu_open_then_every_offered_page_renders(client, world, name):
    response = login(client, world, name).get("/")

    menu = _menu(response.content.decode())
    assert response.status_code == 200 and menu[0] == "/"
    for url in menu:
        assert client.get(url).status_code == 200, url


def _menu(html: str) -> list[str]:
    nav = html.split('<ul class="nav-list">')[1].split("</ul>")[0]
    return [part.split('"')[0] for part in nav.split('href="')[1:]]


def _stat(html: str, label: str) -> str:
    before = html.split(f'<span class="stat-label">{label}</span>')[0]
    return before.rsplit('<span class="stat-num">', 1)[1].split("</span>")[0]


def test_given_community_staff_when_the_home_page_opens_then_counts_cover_their_community_only(client, world):
    html = login(client, world, "staff_a").get("/").content.decode()

    assert [_stat(html, k) for k in ("社区", "小区", "楼栋", "房屋", "在册居民", "独居老人")] == ["1", "1", "1", "2", "1", "1"]


def test_given_a_street_admin_when_the_home_page_opens_then_counts_cover_both_communities(client, world):
    html = login(client, world, "street_admin").get("/").content.decode()

    assert [_stat(html, k) for k in ("社区", "小区", "楼栋", "房屋", "在册居民", "独居老人")] == ["2", "2", "2", "3", "2", "1"]


def test_given_community_staff_when_the_audit_log_opens_then_only_their_community_entries_show(client, world):
    response = login(client, world, "staff_a").get("/audit/")

    labels = {e.target_label for e in response.context["page"]}
    assert "王秀英" in labels
    assert "李建国" not in labels and "桂花社区" not in labels
    assert response.context["page"].paginator.count == AuditEntry.objects.filter(
        place_path__startswith=world.community_a.path).count()


def test_given_an_action_filter_when_the_audit_log_opens_then_only_that_action_shows(client, world):
    response = login(client, world, "street_admin").get("/audit/", {"action": "resident.register"})

    assert sorted(e.target_label for e in response.context["page"]) == ["李建国", "王秀英"]


def test_given_a_target_filter_when_the_audit_log_opens_then_only_that_row_shows(client, world):
    response = login(client, world, "street_admin").get(
        "/audit/", {"target_type": "people.resident", "target_id": str(world.resident_b.pk)})

    assert [(e.action, e.target_label) for e in response.context["page"]] == [("resident.register", "李建国")]


@pytest.mark.parametrize("name", ["grid_a", "property_a", "resident_a", "nobody"])
def test_given_a_role_without_audit_rights_when_the_audit_log_opens_then_it_is_forbidden(client, world, name):
    assert login(client, world, name).get("/audit/").status_code == 403


def test_given_an_unknown_url_when_logged_in_then_the_404_page_keeps_the_shell(client, world):
    response = login(client, world, "staff_a").get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "未找到该页面或记录" in html and 'class="sidenav"' in html
