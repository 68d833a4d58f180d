"""Forms of the device console. They carry the input; the actions validate it and name each error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.core.actor import Actor
from linli.core.crypto import lookup_hash
from linli.core.identity import IdNumberError, normalize_id_number
from linli.core.permissions import Perm
from linli.people.forms import place_choices
from linli.people.models import Resident
from linli.people.queries import visible_residents
from linli.places.choices import PlaceKind
from linli.places.models import Place
from linli.places.queries import access_place

from .choices import GATEWAY_KINDS, DeviceKind, DeviceStatus, QuarantineStatus, Vendor
from .models import DEFAULT_OFFLINE_AFTER, Device
from .queries import DeviceFilter, PassageFilter, QuarantineFilter, visible_devices

ALL = [("", _("全部"))]
AREA_KINDS = (PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING)
INSTALL_KINDS = (PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING, PlaceKind.ENTRANCE)


def _place_id(value: Any) -> int | None:
    return int(value) if value else None


class DeviceFilterForm(forms.Form):
    q = forms.CharField(label=_("名称 / 序列号"), required=False, max_length=64,
                        widget=forms.TextInput(attrs={"type": "search"}))
    place = forms.ChoiceField(label=pgettext_lazy("filter", "地点"), required=False)
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=ALL + list(DeviceKind.choices))
    status = forms.ChoiceField(label=_("状态"), required=False, choices=ALL + list(DeviceStatus.choices))
    retired = forms.BooleanField(label=_("显示已停用设备"), required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = ALL + place_choices(actor, Perm.DEVICE_VIEW, AREA_KINDS)

    def to_filter(self) -> DeviceFilter:
        data = self.cleaned_data if self.is_bound else {}
        return DeviceFilter(place_id=_place_id(data.get("place")), kind=data.get("kind") or None,
                            status=data.get("status") or None, q=data.get("q") or None,
                            retired=bool(data.get("retired")))


class DeviceForm(forms.Form):
    place = forms.ChoiceField(label=_("安装地点"))
    kind = forms.ChoiceField(label=_("类型"), choices=DeviceKind.choices)
    vendor = forms.ChoiceField(label=_("厂商"), choices=Vendor.choices)
    serial = forms.CharField(label=_("序列号"), max_length=64,
                             help_text=_("设备上报时使用的标识：序列号；海康设备填 MAC 地址；Frigate 填摄像机名"))
    name = forms.CharField(label=_("名称"), max_length=100)
    longitude = forms.FloatField(label=_("经度 (WGS-84)"), required=False)
    latitude = forms.FloatField(label=_("纬度 (WGS-84)"), required=False)
    gateway = forms.ChoiceField(label=_("所属网关"), required=False)
    wearer_id_number = forms.CharField(label=_("佩戴人身份证号"), required=False, max_length=20,
                                       help_text=_("仅智能手环"))
    offline_after = forms.IntegerField(label=_("离线判定（分钟）"), min_value=1, max_value=10080,
                                       initial=DEFAULT_OFFLINE_AFTER)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["place"].choices = place_choices(actor, Perm.DEVICE_MANAGE, INSTALL_KINDS)
        gateways = visible_devices(actor).filter(kind__in=GATEWAY_KINDS, retired_at__isnull=True)
        self.fields["gateway"].choices = [("", _("无"))] + [(str(g.pk), f"{g.name} ({g.serial})") for g in gateways]

    def chosen_place(self) -> Place:
        return access_place(self.actor, self.cleaned_data["place"])

    def chosen_gateway(self) -> Device | None:
        pk = self.cleaned_data.get("gateway")
        return visible_devices(self.actor).get(pk=int(pk)) if pk else None

    def clean_wearer_id_number(self) -> Resident | None:
        text = self.cleaned_data.get("wearer_id_number")
        if not text:
            return None
        try:
            digest = lookup_hash("id", normalize_id_number(text))
        except IdNumberError as exc:
            raise forms.ValidationError(exc.zh) from exc
        wearer = visible_residents(self.actor).filter(id_hash=digest).first()
        if wearer is None:
            raise forms.ValidationError(_("没有此身份证号的居民"))
        return wearer

    def device_data(self) -> dict[str, Any]:
        data = {k: self.cleaned_data[k] for k in ("kind", "vendor", "serial", "name", "offline_after")}
        if self.cleaned_data.get("longitude") is not None or self.cleaned_data.get("latitude") is not None:
            data["longitude"], data["latitude"] = self.cleaned_data.get("longitude"), self.cleaned_data.get("latitude")
        return data


class ImportForm(forms.Form):
    place = forms.ChoiceField(label=_("导入到"))
    file = forms.FileField(label=_("Excel 文件（.xlsx）"))

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["place"].choices = place_choices(actor, Perm.DEVICE_MANAGE, AREA_KINDS)

    def chosen_place(self) -> Place:
        return access_place(self.actor, self.cleaned_data["place"])


class QuarantineFilterForm(forms.Form):
    place = forms.ChoiceField(label=pgettext_lazy("filter", "地点"), required=False)
    reason = forms.CharField(label=_("原因代码"), required=False, max_length=40)
    status = forms.ChoiceField(label=_("状态"), required=False, choices=ALL + list(QuarantineStatus.choices))

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = ALL + place_choices(actor, Perm.DEVICE_VIEW, AREA_KINDS)

    def to_filter(self) -> QuarantineFilter:
        data = self.cleaned_data if self.is_bound else {}
        return QuarantineFilter(place_id=_place_id(data.get("place")), reason=data.get("reason") or None,
                                status=data.get("status") or None)


class PassageFilterForm(forms.Form):
    person = forms.CharField(label=_("居民姓名"), required=False, max_length=60,
                             widget=forms.TextInput(attrs={"type": "search"}))
    plate = forms.CharField(label=_("车牌号"), required=False, max_length=20)
    place = forms.ChoiceField(label=pgettext_lazy("filter", "地点"), required=False)
    since = forms.DateField(label=_("从"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = ALL + place_choices(actor, Perm.PASSAGE_VIEW, INSTALL_KINDS)

    def to_filter(self) -> PassageFilter:
        data = self.cleaned_data if self.is_bound else {}
        return PassageFilter(person=data.get("person") or None, plate=data.get("plate") or None,
                             place_id=_place_id(data.get("place")), since=_day_start(data.get("since")),
                             until=_day_start(data.get("until"), days=1))


def _day_start(day: dt.date | None, days: int = 0) -> dt.datetime | None:
    """Local midnight of ``day`` (plus ``days``): dates on screen are local, Asia/Shanghai."""
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=days), dt.time()))
