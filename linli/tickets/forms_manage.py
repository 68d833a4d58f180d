"""Forms of the ticket set-up pages: a category, an organisation and its members, a return visit's outcome.

They parse input only: the actions (linli.tickets.actions.config / visits) check ranges, choices and duplicates
and name the field and the reason in Chinese and English. Numbers that are not numbers and missing choices are
caught here, with messages in the active language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.core.actor import Actor
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind
from linli.places.queries import visible_places

from .actions.config import CATEGORY_FIELDS, ORG_PLACE_KINDS
from .choices import DispatchMode, OrganisationKind, ReturnVisitOutcome
from .models import Category, Organisation

CATEGORY_PLACE_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.ESTATE)
ORGANISATION_PLACE_KINDS = (PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.ESTATE)
PLACE_CHOICES_MAX = 500
GLOBAL = "global"  # the place choice of a category for the whole platform


def _number(label: Any, help_text: Any = "") -> forms.IntegerField:
    return forms.IntegerField(label=label, help_text=help_text, widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                              error_messages={"required": _("请填写此项"), "invalid": _("应为整数")})


def _choice(label: Any, choices: Any) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=choices,
                             error_messages={"required": _("请选择此项"), "invalid_choice": _("请从列表中选择")})


def configurable_places(actor: Actor, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """The places of these kinds where the actor may configure tickets, as choices "id" -> "name（kind）"."""
    places = visible_places(actor).filter(kind__in=kinds).order_by("path")[:PLACE_CHOICES_MAX]
    labels = dict(PlaceKind.choices)
    return [(str(p.pk), f"{p.name}（{labels.get(p.kind, p.kind)}）") for p in places
            if actor.can(Perm.TICKET_CONFIGURE, p.path)]


class CategoryForm(forms.Form):
    """Adding (with ``place`` and ``code``) or changing a category (the code and the place stay)."""

    place = _choice(_("适用范围"), [])
    code = forms.CharField(label=_("英文代码"), required=False, help_text=_("字母、数字、连字符，如 elevator"))
    name = forms.CharField(label=_("名称"), required=False)
    name_en = forms.CharField(label=_("英文名称"), required=False)
    dispatch_mode = _choice(_("派单方式"), DispatchMode.choices)
    organisation_kind = _choice(_("责任机构类型"), OrganisationKind.choices)
    response_minutes = _number(_("响应时限（分钟）"))
    resolution_hours = _number(_("办结时限（小时）"))
    remind_before_minutes = _number(_("提前提醒（分钟）"), _("到期前多少分钟提醒处理人，0 为不提醒"))
    reopen_window_days = _number(_("可重新打开天数"), _("关闭后居民可在多少天内重新打开"))
    sort = _number(_("排序"), _("小的在前"))
    return_visit = forms.BooleanField(label=_("需要回访"), required=False)
    active = forms.BooleanField(label=_("启用"), required=False)

    def __init__(self, data: Any = None, *, actor: Actor, category: Category | None = None) -> None:
        initial = {f: getattr(category, f) for f in CATEGORY_FIELDS} if category is not None else {
            "response_minutes": 60, "resolution_hours": 48, "remind_before_minutes": 30, "reopen_window_days": 7,
            "sort": 100, "active": True, "dispatch_mode": DispatchMode.ASSIGN,
            "organisation_kind": OrganisationKind.COMMUNITY_COMMITTEE}
        super().__init__(data, initial=initial)
        self.category = category
        if category is not None:
            del self.fields["place"], self.fields["code"]
        else:
            choices = configurable_places(actor, CATEGORY_PLACE_KINDS)
            if actor.can(Perm.TICKET_CONFIGURE, "/"):
                choices.insert(0, (GLOBAL, str(_("全平台"))))
            self.fields["place"].choices = [("", "—"), *choices]

    def action_data(self) -> dict[str, Any]:
        """The cleaned values the actions take (``place`` and ``code`` apart)."""
        return {f: self.cleaned_data[f] for f in CATEGORY_FIELDS}


class OrganisationForm(forms.Form):
    kind = _choice(_("类型"), OrganisationKind.choices)
    name = forms.CharField(label=_("名称"), required=False)
    place = _choice(_("所在地点"), [])

    def __init__(self, data: Any = None, *, actor: Actor) -> None:
        super().__init__(data)
        kinds = tuple({k for ks in ORG_PLACE_KINDS.values() for k in ks} & set(ORGANISATION_PLACE_KINDS))
        self.fields["place"].choices = [("", "—"), *configurable_places(actor, kinds)]
        self.fields["place"].help_text = _("物业公司设在小区或社区，居委会设在社区，街道办设在街道")


class OrganisationEditForm(forms.Form):
    name = forms.CharField(label=_("名称"), required=False)
    active = forms.BooleanField(label=_("启用"), required=False,
                               help_text=_("停用后新工单交给上一级同类机构；已有工单不变"))

    def __init__(self, data: Any = None, *, organisation: Organisation) -> None:
        super().__init__(data, initial={"name": organisation.name, "active": organisation.active})


class MemberForm(forms.Form):
    assignment = forms.TypedChoiceField(label=_("人员"), coerce=int,
                                        error_messages={"required": _("请选择人员"),
                                                        "invalid_choice": _("请从列表中选择")})

    def __init__(self, data: Any = None, *, candidates: list[tuple[int, str]]) -> None:
        super().__init__(data)
        self.fields["assignment"].choices = [("", "—"), *candidates]


class ReturnVisitForm(forms.Form):
    outcome = forms.ChoiceField(label=_("回访结果"), choices=ReturnVisitOutcome.choices, widget=forms.RadioSelect,
                                error_messages={"required": _("请选择回访结果"), "invalid_choice": _("请从列表中选择")})
    note = forms.CharField(label=_("回访记录"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


