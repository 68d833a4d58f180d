"""Template helpers of the console: the navigation, the user's roles and places, texts in the active language."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.core.actor import Actor
from linli.core.identity import age_on
from linli.core.permissions import Perm, Role
from linli.core.web import in_english, localized

register = template.Library()


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: Any
    perm: str | None
    section: str  # the first path segment that marks the item as current

    def visible_to(self, actor: Actor) -> bool:
        return self.perm is None or actor.has_perm(self.perm)


NAV = (
    NavItem("home", _("工作台"), None, ""),
    NavItem("places:tree", _("地点"), Perm.PLACE_VIEW, "places"),
    NavItem("people:list", pgettext_lazy("list", "居民"), Perm.RESIDENT_VIEW, "people"),
    NavItem("people:import", _("导入"), Perm.RESIDENT_IMPORT, "people/import"),
    NavItem("devices:list", _("设备"), Perm.DEVICE_VIEW, "devices"),
    NavItem("alerts:board", _("告警"), Perm.ALERT_VIEW, "alerts"),
    NavItem("tickets:list", _("工单"), Perm.TICKET_SUBMIT, "tickets"),
    NavItem("tickets:kpis", _("工单考核"), Perm.TICKET_KPI, "tickets/kpis"),
    NavItem("tickets:manage_visits", _("回访"), Perm.TICKET_HANDLE, "tickets/manage/return-visits"),
    NavItem("tickets:manage_categories", _("工单设置"), Perm.TICKET_CONFIGURE, "tickets/manage"),
    NavItem("audit", _("审计日志"), Perm.AUDIT_VIEW, "audit"),
)


@register.simple_tag(takes_context=True)
def nav_items(context: template.Context) -> list[dict[str, Any]]:
    """The menu entries this user may open, the current one marked."""
    actor: Actor = context["actor"]
    path = context["request"].path.strip("/")
    visible = [item for item in NAV if item.visible_to(actor)]
    # The longest matching section wins, so /people/import/ marks "导入" and not "居民".
    current = max((item for item in visible if item.section and (path + "/").startswith(item.section + "/")),
                  key=lambda item: len(item.section), default=None)
    if current is None and path == "":
        current = NAV[0]
    return [{"url": reverse(item.url_name), "label": item.label, "current": item is current} for item in visible]


@register.simple_tag(takes_context=True)
def role_places(context: template.Context) -> list[dict[str, str]]:
    """The user's role assignments as "role @ place" pairs, for the header."""
    from linli.places.models import Place

    actor: Actor = context["actor"]
    names = dict(Place.objects.filter(pk__in=[g.place_id for g in actor.grants if g.place_id]).values_list("pk", "name"))
    labels = dict(Role.choices)
    return [
        {"role": str(labels.get(g.role, g.role)), "place": names.get(g.place_id, "") if g.place_id else str(_("全平台"))}
        for g in sorted(actor.grants, key=lambda g: (g.path, g.role))
    ]


@register.filter
def has_perm(actor: Actor, perm: str) -> bool:
    return actor.has_perm(perm)


@register.filter
def msg(error: Any) -> str:
    """An error's message (message_zh / message_en) in the active language."""
    return localized(error.message_zh, error.message_en)


@register.filter
def tag_name(tag: Any) -> str:
    """A care tag's name in the active language."""
    return tag.name_en if in_english() else tag.name


@register.filter
def age(birth_date: dt.date | None) -> int | str:
    years = age_on(birth_date, timezone.localdate())
    return "" if years is None else years


@register.filter
def get_item(mapping: dict, key: Any) -> Any:
    return mapping.get(key, "")
