"""Forms of the ticket pages: the filters of the list, a new ticket (a resident's own or entered by staff for a
caller), the rating. They only parse input; the actions check it and say what is wrong."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from linli.core.actor import Actor
from linli.core.permissions import Perm, Role
from linli.places.choices import PlaceKind, PlaceStatus
from linli.places.models import Facility, Place
from linli.places.queries import visible_places

from . import kpis, queries
from .actions.submit import MAX_PHOTOS, STAFF_CHANNELS
from .choices import Channel, PhotoStage, TicketKind, TicketStatus
from .picker import Picker, facility_for, resident_picker

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
STAFF_PLACE_KINDS = (PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING, PlaceKind.ENTRANCE)
PLACE_CHOICES_MAX = 500


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class TicketFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("状态"), required=False, choices=_blank(TicketStatus.choices))
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=_blank(TicketKind.choices))
    category_id = forms.TypedChoiceField(label=_("类别"), required=False, coerce=int, empty_value=None)
    overdue = forms.ChoiceField(label=_("超时"), required=False,
                                choices=[("", "—"), ("yes", _("已超时")), ("no", _("未超时"))])

    def __init__(self, data: Any = None, *, actor: Actor) -> None:
        super().__init__(data)
        self.fields["category_id"].choices = _blank(
            (c.pk, c.name) for c in queries.visible_categories(actor).filter(active=True).order_by("sort", "id"))

    def to_filter(self) -> queries.TicketFilter:
        data = self.cleaned_data if self.is_valid() else {}
        overdue = {"yes": True, "no": False}.get(data.get("overdue") or "")
        return queries.TicketFilter(status=data.get("status") or None, kind=data.get("kind") or None,
                                    category_id=data.get("category_id"), overdue=overdue, q=data.get("q") or None)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def clean(self, data: Any, initial: Any = None) -> list:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def resident_places(actor: Actor) -> QuerySet[Place]:
    """A resident's dwellings and the public spots (estate, buildings, entrances) of their estates."""
    homes = [g.path for g in actor.grants if g.role == Role.RESIDENT]
    estates = queries.estate_paths(homes)
    public = Q(pk__in=[])
    for path in estates:
        public |= Q(path__startswith=path) & ~Q(kind=PlaceKind.DWELLING)
    return Place.objects.filter(Q(path__in=homes) | public, status=PlaceStatus.ACTIVE)


def place_choices(actor: Actor, for_staff: bool) -> list[tuple[int, str]]:
    if for_staff:
        found = visible_places(actor).filter(kind__in=STAFF_PLACE_KINDS).order_by("path")[:PLACE_CHOICES_MAX]
        places = [p for p in found if actor.can(Perm.TICKET_SUBMIT, p.path)]
    else:
        places = list(resident_places(actor).order_by("path")[:PLACE_CHOICES_MAX])
    names = dict(Place.objects.filter(pk__in={i for p in places for i in p.ancestor_ids}).values_list("pk", "name"))
    return [(p.pk, " ".join(names.get(i, "") for i in p.ancestor_ids[-3:] if i in names) or p.name) for p in places]


class TicketForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=TicketKind.choices)
    category_id = forms.TypedChoiceField(label=_("类别"), coerce=int)
    place_id = forms.TypedChoiceField(label=_("地点"), coerce=int)
    description = forms.CharField(label=_("描述"), widget=forms.Textarea(attrs={"rows": 4}))
    photos = MultipleFileField(label=_("照片"), required=False,
                               widget=MultipleFileInput(attrs={"accept": "image/*", "multiple": True}),
                               help_text=_("最多9张"))
    preferred_from = forms.DateTimeField(label=_("期望上门时间起"), required=False, input_formats=[DATETIME_LOCAL],
                                         widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL))
    preferred_until = forms.DateTimeField(label=_("期望上门时间止"), required=False, input_formats=[DATETIME_LOCAL],
                                          widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL))

    def __init__(self, data: Any = None, files: Any = None, *, actor: Actor, for_staff: bool) -> None:
        super().__init__(data, files)
        self.for_staff = for_staff
        self.picker: Picker | None = None
        self.facility: Facility | None = None  # a facility chosen on the map (see clean)
        self.fields["category_id"].choices = [
            (c.pk, c.name) for c in queries.visible_categories(actor).filter(active=True).order_by("sort", "id")]
        if for_staff:
            self.fields["place_id"].choices = place_choices(actor, for_staff)
        else:
            # A list of big radio buttons (works without JavaScript) and the map markers that fill it.
            self.picker = resident_picker(actor, list(resident_places(actor).order_by("path")[:PLACE_CHOICES_MAX]))
            place = self.fields["place_id"]
            place.choices = [(o.place.pk, o.label) for o in self.picker.options]
            place.widget = forms.RadioSelect(choices=place.choices)
            place.error_messages["invalid_choice"] = _("只能选择您的住房或本小区的公共区域")
            place.error_messages["required"] = _("请选择地点：您的住房或本小区的公共区域")
            self.fields["facility_id"] = forms.IntegerField(required=False, widget=forms.HiddenInput)
        if for_staff:
            self.fields["channel"] = forms.ChoiceField(
                label=_("来源渠道"), choices=[(c, Channel(c).label) for c in STAFF_CHANNELS])
            self.fields["reporter_name"] = forms.CharField(label=_("反映人"), required=False, max_length=60)

    def clean_photos(self) -> list:
        photos = self.cleaned_data.get("photos") or []
        if len(photos) > MAX_PHOTOS:
            raise forms.ValidationError(_("最多9张"))
        return photos

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.facility = None
        if self.picker is not None and data.get("facility_id") and data.get("place_id"):
            self.facility = facility_for(self.picker, data["facility_id"], data["place_id"])
            if self.facility is None:
                self.add_error("place_id", _("所选设施不在本小区或不在所选地点"))
        return data


class PhotoForm(forms.Form):
    """Photos added on the detail page, to one of the stages the user may add to now."""

    stage = forms.ChoiceField(label=_("照片阶段"))
    photos = MultipleFileField(label=_("照片"), widget=MultipleFileInput(attrs={"accept": "image/*", "multiple": True}),
                               help_text=_("最多9张"), error_messages={"required": _("请选择照片")})

    def __init__(self, data: Any = None, files: Any = None, *, stages: list[str]) -> None:
        super().__init__(data, files)
        self.fields["stage"].choices = [(s, PhotoStage(s).label) for s in stages if s]
        if len(self.fields["stage"].choices) == 1:
            self.fields["stage"].initial = stages[0]
            self.fields["stage"].widget = forms.HiddenInput()

    def clean_photos(self) -> list:
        photos = self.cleaned_data.get("photos") or []
        if len(photos) > MAX_PHOTOS:
            raise forms.ValidationError(_("最多9张"))
        return photos


class RatingForm(forms.Form):
    SCORES = [(i, str(i)) for i in range(5, 0, -1)]
    overall = forms.TypedChoiceField(label=_("总体评价"), choices=SCORES, coerce=int)
    speed = forms.TypedChoiceField(label=_("处理速度"), choices=SCORES, coerce=int)
    attitude = forms.TypedChoiceField(label=_("服务态度"), choices=SCORES, coerce=int)
    comment = forms.CharField(label=_("评价内容"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


KPI_PLACE_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.ESTATE)
KPI_GROUP_LABELS = {"total": _("合计"), "place": _("地点"), "organisation": _("机构"), "category": _("类别"),
                    "assignee": _("处理人"), "month": _("月份"), "kind": _("类型")}


class KpiForm(forms.Form):
    since = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    place_id = forms.TypedChoiceField(label=_("地点"), required=False, coerce=int, empty_value=None)
    group = forms.ChoiceField(label=_("分组"), required=False, choices=list(KPI_GROUP_LABELS.items()))

    def __init__(self, data: Any = None, *, actor: Actor) -> None:
        super().__init__(data)
        places = visible_places(actor).filter(kind__in=KPI_PLACE_KINDS).order_by("path")[:PLACE_CHOICES_MAX]
        self.fields["place_id"].choices = _blank((p.pk, p.name) for p in places if actor.can(Perm.TICKET_KPI, p.path))

    def to_filter(self) -> tuple[kpis.KpiFilter, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return (kpis.KpiFilter(since=data.get("since"), until=data.get("until"), place_id=data.get("place_id")),
                data.get("group") or "total")
