"""Forms of the resident pages. They carry the input; the actions validate it and name each error."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.core.actor import Actor
from linli.core.permissions import Perm
from linli.core.web import in_english
from linli.places.choices import PlaceKind
from linli.places.models import Place
from linli.places.queries import access_place, visible_places

from .choices import ResidentStatus, Sex
from .models import CareTag, Resident
from .queries import ResidentFilter, care_tags

GRADED_TAG = "disabled"
ALL_STATUSES = "all"


def place_choices(actor: Actor, perm: str, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """Places of the given kinds inside the actor's scope for ``perm``, in tree order, indented by level."""
    places = list(visible_places(actor).filter(actor.scope_q(perm, "path"), kind__in=kinds).order_by("path"))
    top = min((p.depth for p in places), default=0)
    return [(str(p.pk), "\u3000" * (p.depth - top) + p.name) for p in places]


def tag_choices(tags: list[CareTag]) -> list[tuple[str, str]]:
    english = in_english()
    return [(t.code, ("\u3000" if t.parent_id else "") + (t.name_en if english else t.name)) for t in tags]


class ResidentFilterForm(forms.Form):
    q = forms.CharField(label=_("姓名 / 身份证号 / 手机号"), required=False, max_length=60,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("输入姓名，或完整的身份证号、手机号")}))
    place = forms.ChoiceField(label=pgettext_lazy("filter", "地点"), required=False)
    tag = forms.ChoiceField(label=_("特殊人群"), required=False)
    age_min = forms.IntegerField(label=_("最小年龄"), required=False, min_value=0, max_value=150)
    age_max = forms.IntegerField(label=_("最大年龄"), required=False, min_value=0, max_value=150)
    sex = forms.ChoiceField(label=_("性别"), required=False,
                            choices=[("", _("全部"))] + [(s.value, s.label) for s in (Sex.MALE, Sex.FEMALE)])
    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=list(ResidentStatus.choices) + [(ALL_STATUSES, _("全部"))])

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        kinds = (PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING)
        self.fields["place"].choices = [("", _("全部"))] + place_choices(actor, Perm.RESIDENT_VIEW, kinds)
        self.fields["tag"].choices = [("", _("全部"))] + tag_choices(list(care_tags()))

    def to_filter(self) -> ResidentFilter:
        """The filter for search_residents; an invalid form filters on the valid fields only."""
        data = self.cleaned_data if self.is_bound else {}
        status = data.get("status") or ResidentStatus.ACTIVE
        return ResidentFilter(
            place_id=int(data["place"]) if data.get("place") else None,
            tag=data.get("tag") or None,
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            q=data.get("q") or None,
            sex=data.get("sex") or None,
            status=None if status == ALL_STATUSES else status,
        )


class ResidentForm(forms.Form):
    name = forms.CharField(label=_("姓名"), required=False, max_length=100)
    sex = forms.ChoiceField(label=_("性别"), required=False, choices=Sex.choices)
    birth_date = forms.CharField(label=_("出生日期"), required=False, max_length=20,
                                 widget=forms.TextInput(attrs={"placeholder": "2026-04-23", "inputmode": "numeric"}))
    id_number = forms.CharField(label=_("身份证号"), required=False, max_length=40,
                                help_text=_("留空则不修改"), widget=forms.TextInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(label=_("手机号"), required=False, max_length=30,
                            help_text=_("留空则不修改"), widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}))
    ethnicity = forms.CharField(label=_("民族"), required=False, max_length=20)
    status = forms.ChoiceField(label=_("状态"), choices=ResidentStatus.choices)
    has_smartphone = forms.BooleanField(label=_("使用智能手机"), required=False)
    tags = forms.MultipleChoiceField(label=_("特殊人群"), required=False, widget=forms.CheckboxSelectMultiple)
    disability_grade = forms.ChoiceField(label=_("残疾等级"), required=False,
                                         choices=[("", "—")] + [(str(g), str(g)) for g in range(1, 5)])
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["tags"].choices = tag_choices(list(care_tags()))

    @classmethod
    def for_resident(cls, resident: Resident, data: Any = None) -> ResidentForm:
        grade = next((str(rt.grade) for rt in resident.open_tags if rt.tag.code == GRADED_TAG and rt.grade), "")
        form = cls(data, initial={
            "name": resident.name, "sex": resident.sex,
            "birth_date": resident.birth_date.isoformat() if resident.birth_date else "",
            "ethnicity": resident.ethnicity, "status": resident.status, "has_smartphone": resident.has_smartphone,
            "notes": resident.notes, "tags": [rt.tag.code for rt in resident.open_tags], "disability_grade": grade,
        })
        # The full values are never put in the page: the placeholders show the masks.
        form.fields["id_number"].widget.attrs["placeholder"] = resident.id_mask
        form.fields["phone"].widget.attrs["placeholder"] = resident.phone_mask
        return form

    def resident_data(self) -> dict[str, Any]:
        """The fields for update_resident; blank ID number and phone are left as they are."""
        data = {key: self.cleaned_data[key] for key in ("name", "sex", "birth_date", "ethnicity", "status",
                                                        "has_smartphone", "notes")}
        for key in ("id_number", "phone"):
            if self.cleaned_data[key].strip():
                data[key] = self.cleaned_data[key]
        return data

    def tag_codes(self) -> list[str]:
        grade = self.cleaned_data["disability_grade"]
        return [f"{code}:{grade}" if code == GRADED_TAG and grade else code for code in self.cleaned_data["tags"]]


class ImportForm(forms.Form):
    place = forms.ChoiceField(label=_("导入到"), help_text=_("选择小区；选择社区时表格须填写“小区”列"))
    file = forms.FileField(label=_("居民表 (.xlsx)"))

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = place_choices(actor, Perm.RESIDENT_IMPORT, (PlaceKind.COMMUNITY, PlaceKind.ESTATE))

    def chosen_place(self, actor: Actor) -> Place:
        return access_place(actor, self.cleaned_data["place"])
