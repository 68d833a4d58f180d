"""Forms of the place pages. They only carry the input; the actions validate it and name each error."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.core.web import localized

from .choices import PlaceKind
from .models import Place

# The fields staff keep for each kind of place.
FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    PlaceKind.DISTRICT: ("name", "code", "address", "longitude", "latitude", "boundary"),
    PlaceKind.STREET: ("name", "code", "address", "longitude", "latitude", "boundary"),
    PlaceKind.COMMUNITY: ("name", "code", "address", "longitude", "latitude", "area_m2", "boundary"),
    PlaceKind.ESTATE: ("name", "code", "address", "longitude", "latitude", "year_built", "dwelling_count", "area_m2",
                       "boundary"),
    PlaceKind.BUILDING: ("name", "code", "longitude", "latitude", "year_built", "floors", "dwelling_count", "area_m2"),
    PlaceKind.ENTRANCE: ("name", "code", "floors"),
    PlaceKind.DWELLING: ("name", "code", "area_m2"),
}


class PlaceForm(forms.Form):
    name = forms.CharField(label=_("名称"), required=False, max_length=200)
    code = forms.CharField(label=_("编码"), required=False, max_length=40)
    address = forms.CharField(label=_("地址"), required=False, max_length=200)
    longitude = forms.CharField(label=_("经度 (WGS-84)"), required=False, max_length=30)
    latitude = forms.CharField(label=_("纬度 (WGS-84)"), required=False, max_length=30)
    year_built = forms.CharField(label=_("建成年份"), required=False, max_length=10)
    floors = forms.CharField(label=_("层数"), required=False, max_length=10)
    dwelling_count = forms.CharField(label=_("户数"), required=False, max_length=10)
    area_m2 = forms.CharField(label=_("面积 (m²)"), required=False, max_length=20)
    boundary = forms.CharField(label=_("边界 (GeoJSON)"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text=_("Polygon 或 MultiPolygon，坐标为 WGS-84 经纬度"))

    def __init__(self, *args: Any, kind: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        keep = FIELDS_BY_KIND[kind]
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]

    @classmethod
    def initial_for(cls, place: Place) -> dict[str, Any]:
        initial = {name: getattr(place, name) for name in FIELDS_BY_KIND[place.kind] if name != "boundary"}
        if "boundary" in FIELDS_BY_KIND[place.kind] and place.boundary:
            initial["boundary"] = json.dumps(place.boundary, ensure_ascii=False)
        return {k: ("" if v is None else v) for k, v in initial.items()}

    def clean_boundary(self) -> dict | None:
        text = self.cleaned_data.get("boundary", "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(localized("边界不是有效的JSON", "the boundary is not valid JSON")) from exc

    def action_data(self) -> dict[str, Any]:
        """The values for create_place / update_place: every field this kind keeps."""
        return {name: self.cleaned_data.get(name) for name in self.fields}


class MergeEstatesForm(forms.Form):
    estates = forms.MultipleChoiceField(label=_("要合并的小区"), widget=forms.CheckboxSelectMultiple, required=False)
    into = forms.ChoiceField(label=_("合并到"), required=False)
    into_name = forms.CharField(label=_("新小区名称"), required=False, max_length=100,
                                help_text=_("合并为新小区时填写，例如“祥和苑”"))
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=500)

    def __init__(self, *args: Any, estates: list[Place], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.estate_by_id = {str(e.pk): e for e in estates}
        self.fields["estates"].choices = [(str(e.pk), e.name) for e in estates]
        self.fields["into"].choices = [("", _("新建一个小区"))] + [(str(e.pk), e.name) for e in estates]

    def chosen(self) -> tuple[list[Place], Place | None]:
        estates = [self.estate_by_id[pk] for pk in self.cleaned_data["estates"]]
        into_id = self.cleaned_data["into"]
        return estates, (self.estate_by_id[into_id] if into_id else None)
