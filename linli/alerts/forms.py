"""Forms of the alert console: the board's filters, the steps on an alert, rules and the care threshold. They carry
the input; the actions (and linli.alerts.validation) check it and name each error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.core.actor import Actor
from linli.core.errors import ValidationFailed
from linli.core.permissions import Perm, Role
from linli.core.web import in_english, message_of
from linli.devices.adapters import EventKind
from linli.people.forms import place_choices
from linli.places.choices import PlaceKind
from linli.places.queries import access_place
from linli.tickets.choices import TicketKind

from .choices import ACTIVE, NOT_SEEN, AlertStatus, RouteRole, Severity
from .models import Alert, Rule
from .queries import routable_assignments, route_users_for, visible_alerts

ALL = [("", _("全部"))]
AREA_KINDS = (PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING)
RULE_PLACE_KINDS = (PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING, PlaceKind.ENTRANCE)
ACTIVE_CHOICE = "active"
EVERY_STATUS = "all"
SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.WARNING: 3}
WEEKDAYS = [(0, _("周一")), (1, _("周二")), (2, _("周三")), (3, _("周四")), (4, _("周五")), (5, _("周六")), (6, _("周日"))]
ESCALATION_ROWS = 3
ROUTE_USERS_SHOWN = 10  # rows of the route-user list box
ESCALATION_ROLES = [(r.value, r.label) for r in Role if r not in (Role.RESIDENT, Role.SYSTEM_ADMIN, Role.OWNERS_COMMITTEE)]


def _place_id(value: Any) -> int | None:
    return int(value) if value else None


def _day_start(day: dt.date | None, days: int = 0) -> dt.datetime | None:
    """Local midnight of ``day`` (plus ``days``): dates on screen are local, Asia/Shanghai."""
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=days), dt.time()))


def kind_choices(actor: Actor) -> list[tuple[str, str]]:
    """The alert kinds: codes of the shipped rules and of rules in the actor's area, and the care monitor's."""
    rules = Rule.objects.filter(Q(place__isnull=True) | actor.scope_q(Perm.ALERT_VIEW)).order_by("code", "place_path")
    english = in_english()
    names: dict[str, str] = {}
    for code, name, name_en in rules.values_list("code", "name", "name_en"):
        names.setdefault(code, (name_en or name) if english else name)
    names[NOT_SEEN] = "not seen for too long" if english else "久未出门"
    return sorted(names.items(), key=lambda item: item[0])


class BoardFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[
        (ACTIVE_CHOICE, _("待处理（待确认和已确认）")), *AlertStatus.choices, (EVERY_STATUS, _("全部"))])
    severity = forms.ChoiceField(label=_("级别"), required=False, choices=ALL + list(Severity.choices))
    kind = forms.ChoiceField(label=_("类型"), required=False)
    place = forms.ChoiceField(label=pgettext_lazy("filter", "地点"), required=False)
    since = forms.DateField(label=_("从"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(label=_("排序"), required=False, choices=[("severity", _("最严重优先")),
                                                                      ("newest", _("最新优先"))])

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["kind"].choices = ALL + kind_choices(actor)
        self.fields["place"].choices = ALL + place_choices(actor, Perm.ALERT_VIEW, AREA_KINDS)
        if self.is_bound:
            self.is_valid()

    def _data(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}

    def scope(self) -> QuerySet[Alert]:
        """The alerts the filters select, every severity (the board counts them per severity)."""
        data = self._data()
        qs = visible_alerts(self.actor)
        status = data.get("status") or ACTIVE_CHOICE
        if status == ACTIVE_CHOICE:
            qs = qs.filter(status__in=ACTIVE)
        elif status != EVERY_STATUS:
            qs = qs.filter(status=status)
        if data.get("kind"):
            qs = qs.filter(kind=data["kind"])
        if data.get("place"):
            qs = qs.filter(place_path__startswith=access_place(self.actor, _place_id(data["place"])).path)
        if data.get("since"):
            qs = qs.filter(last_seen_at__gte=_day_start(data["since"]))
        if data.get("until"):
            qs = qs.filter(last_seen_at__lt=_day_start(data["until"], days=1))
        return qs

    def rows(self, scope: QuerySet[Alert]) -> QuerySet[Alert]:
        """The listed alerts: the severity filter on top of ``scope``, most severe (or newest) first."""
        data = self._data()
        qs = scope.filter(severity=data["severity"]) if data.get("severity") else scope
        rank = Case(*[When(severity=s, then=Value(n)) for s, n in SEVERITY_RANK.items()], default=Value(9),
                    output_field=IntegerField())
        order = ["-last_seen_at", "-id"] if data.get("sort") == "newest" else [rank, "-last_seen_at", "-id"]
        return qs.select_related("place", "device", "resident").order_by(*order)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AlertTicketForm(forms.Form):
    kind = forms.ChoiceField(label=_("工单类型"), choices=TicketKind.choices, initial=TicketKind.REPAIR)
    category_id = forms.ChoiceField(label=_("类别"))
    description = forms.CharField(label=_("描述"), required=False, max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, categories: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        english = in_english()
        self.fields["category_id"].choices = [("", "—")] + [
            (str(c.pk), (c.name_en or c.name) if english else c.name) for c in categories]


def person_name(user: Any) -> str:
    """How staff know a user: the profile's display name or the full name, with the username when it differs."""
    profile = getattr(user, "linli_profile", None)
    name = (profile.display_name if profile is not None else "") or user.get_full_name()
    username = user.get_username()
    return f"{name}（{username}）" if name and name != username else username


def route_user_choices(actor: Actor, kept: list[Any]) -> list[tuple[str, str]]:
    """The users a rule may notify directly: active accounts holding a role in the actor's rule area (the scoped
    query the API checks too), each with their roles and places, in place order; then the users the rule already
    routes to from outside that area (they may stay or be removed, not be added elsewhere)."""
    roles = dict(Role.choices)
    assignments = (routable_assignments(actor).filter(user__is_active=True)
                   .select_related("user", "user__linli_profile", "place").order_by("place_path", "user__username"))
    users: dict[int, Any] = {}
    posts: dict[int, list[str]] = {}
    for a in assignments:
        users.setdefault(a.user_id, a.user)
        posts.setdefault(a.user_id, []).append(f"{roles.get(a.role, a.role)} {a.place.name if a.place else ''}".strip())
    choices = [(str(pk), f"{person_name(user)} · {'；'.join(posts[pk])}") for pk, user in users.items()]
    choices += [(str(u.pk), f"{person_name(u)} · {_('不在您的管辖范围')}") for u in kept if u.pk not in users]
    return choices


class RouteUsersField(forms.MultipleChoiceField):
    """The users picked. Which ids are allowed is the scoped query's call (``RuleForm.clean_route_users``), so an id
    posted by hand gets the same refusal as over the API, not the generic "not one of the choices"."""

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


def _number(text: str) -> Any:
    """A number typed in a box, or the text itself (the rule check then names the field)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _int_or_text(text: str) -> Any:
    text = (text or "").strip()
    return int(text) if text.isdigit() else text


class RuleForm(forms.Form):
    """A rule at a place subtree. The values go to the rules' own check (linli.alerts.validation), whose errors
    land on the fields they name, in the active language."""

    place = forms.ChoiceField(label=_("适用地点（含下级）"))
    code = forms.CharField(label=_("规则代码"), max_length=40,
                           help_text=_("告警类型：同一代码的规则中，离事件地点最近的生效；与默认规则同代码即覆盖默认规则"))
    name = forms.CharField(label=_("名称"), max_length=60, required=False)
    name_en = forms.CharField(label=_("英文名称"), max_length=80, required=False)
    severity = forms.ChoiceField(label=_("级别"), choices=Severity.choices)
    event_kinds = forms.MultipleChoiceField(label=_("事件类型"), required=False, widget=forms.CheckboxSelectMultiple,
                                            choices=[(k.value, k.value) for k in EventKind])
    min_score = forms.CharField(label=_("最低置信度（0-1）"), required=False, max_length=20)
    zones = forms.CharField(label=_("区域（逗号分隔）"), required=False, max_length=400)
    min_stationary_seconds = forms.IntegerField(label=_("停留至少（秒）"), required=False, min_value=0,
                                                max_value=10 ** 6)
    repeat_count = forms.IntegerField(label=_("触发次数"), min_value=1, max_value=1000, initial=1)
    repeat_minutes = forms.IntegerField(label=_("时间窗（分钟）"), required=False, min_value=1, max_value=100000)
    time_from = forms.CharField(label=_("生效时段：开始"), required=False, max_length=8,
                                widget=forms.TextInput(attrs={"type": "time"}))
    time_until = forms.CharField(label=_("生效时段：结束"), required=False, max_length=8,
                                 widget=forms.TextInput(attrs={"type": "time"}))
    weekdays = forms.TypedMultipleChoiceField(label=_("星期（不选为每天）"), required=False, coerce=int,
                                              choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple)
    route_roles = forms.MultipleChoiceField(label=_("通知角色"), required=False, choices=RouteRole.choices,
                                            widget=forms.CheckboxSelectMultiple)
    route_users = RouteUsersField(label=_("直接通知人员"), required=False,
                                  widget=forms.SelectMultiple(attrs={"size": ROUTE_USERS_SHOWN}),
                                  help_text=_("告警产生时另行通知的人员（在通知角色之外）；按住 Ctrl（Mac 为 ⌘）可多选或取消选择"))
    auto_resolve_minutes = forms.IntegerField(label=_("无重复自动解除（分钟）"), required=False, min_value=1,
                                              max_value=100000)
    resolve_kinds = forms.MultipleChoiceField(label=_("解除告警的事件类型"), required=False,
                                              widget=forms.CheckboxSelectMultiple,
                                              choices=[(k.value, k.value) for k in EventKind])
    enabled = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, actor: Actor, rule: Rule | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.rule = rule
        for i in range(ESCALATION_ROWS):
            self.fields[f"escalation_minutes_{i}"] = forms.CharField(
                label=_("升级 %(n)d：未确认（分钟）") % {"n": i + 1}, required=False, max_length=10)
            self.fields[f"escalation_role_{i}"] = forms.ChoiceField(
                label=_("升级 %(n)d：通知角色") % {"n": i + 1}, required=False, choices=[("", "—"), *ESCALATION_ROLES])
        if rule is not None:  # a rule's place and code stay what they are
            del self.fields["place"]
            del self.fields["code"]
        else:
            self.fields["place"].choices = place_choices(actor, Perm.RULE_MANAGE, RULE_PLACE_KINDS)
        self.escalation_fields: dict[int, int] = {}
        kept = sorted(rule.route_users.all(), key=lambda u: u.pk) if rule is not None else []
        self.kept_route_user_ids = {u.pk for u in kept}
        self.fields["route_users"].choices = route_user_choices(actor, kept)

    def clean_route_users(self) -> list[Any]:
        """The users picked, for the rule actions' ``route_users=``. Refuse the lot when any id is outside the
        actor's area (and not already on the rule): nothing is saved."""
        try:
            return route_users_for(self.actor, self.cleaned_data["route_users"], field="route_users",
                                   keep=self.kept_route_user_ids)
        except ValidationFailed as exc:
            raise ValidationError([message_of(e) for e in exc.errors]) from exc

    @classmethod
    def initial_from(cls, rule: Rule) -> dict[str, Any]:
        """The form's values for an existing rule (to edit it, or to override a default with it)."""
        data: dict[str, Any] = {f: getattr(rule, f) for f in (
            "code", "name", "name_en", "severity", "event_kinds", "min_stationary_seconds", "repeat_count",
            "repeat_minutes", "weekdays", "route_roles", "auto_resolve_minutes", "resolve_kinds", "enabled")}
        data["min_score"] = "" if rule.min_score is None else f"{rule.min_score:g}"
        data["zones"] = ", ".join(rule.zones or [])
        data["route_users"] = sorted(str(u.pk) for u in rule.route_users.all())
        for name in ("time_from", "time_until"):
            value = getattr(rule, name)
            data[name] = value.strftime("%H:%M") if value else ""
        for i, step in enumerate((rule.escalation or [])[:ESCALATION_ROWS]):
            data[f"escalation_minutes_{i}"] = step.get("after_minutes")
            data[f"escalation_role_{i}"] = step.get("to_role")
        return data

    def rule_fields(self) -> dict[str, Any]:
        """The cleaned values as the rule actions take them (numbers that are not numbers stay text)."""
        data = self.cleaned_data
        fields: dict[str, Any] = {
            "name": data["name"].strip(), "name_en": data["name_en"].strip(), "severity": data["severity"],
            "event_kinds": list(data["event_kinds"]), "min_score": _number(data["min_score"]),
            "zones": [z.strip() for z in data["zones"].replace("，", ",").split(",") if z.strip()],
            "min_stationary_seconds": data["min_stationary_seconds"], "repeat_count": data["repeat_count"] or 1,
            "repeat_minutes": data["repeat_minutes"], "time_from": data["time_from"].strip() or None,
            "time_until": data["time_until"].strip() or None, "weekdays": list(data["weekdays"]),
            "route_roles": list(data["route_roles"]), "auto_resolve_minutes": data["auto_resolve_minutes"],
            "resolve_kinds": list(data["resolve_kinds"]), "enabled": data["enabled"],
        }
        steps = []
        self.escalation_fields = {}
        for i in range(ESCALATION_ROWS):
            minutes, role = data.get(f"escalation_minutes_{i}", "").strip(), data.get(f"escalation_role_{i}") or None
            if not minutes and not role:
                continue
            self.escalation_fields[len(steps)] = i
            steps.append({"after_minutes": _int_or_text(minutes), "to_role": role})
        fields["escalation"] = steps
        if self.rule is None:
            fields["code"] = data["code"].strip()
        return fields

    def chosen_place(self) -> Any:
        return access_place(self.actor, self.cleaned_data["place"])

    def field_for(self, error_field: str) -> str | None:
        """The form field of a rule check's error ("escalation.1.to_role" -> the second filled escalation row)."""
        if error_field.startswith("escalation."):
            _name, index, part = (error_field.split(".") + ["", ""])[:3]
            row = self.escalation_fields.get(int(index)) if index.isdigit() else None
            if row is None:
                return None
            return f"escalation_minutes_{row}" if part == "after_minutes" else f"escalation_role_{row}"
        return error_field if error_field in self.fields else None


class ThresholdForm(forms.Form):
    hours = forms.CharField(label=_("未出门阈值（小时）"), required=False, max_length=10,
                            help_text=_("留空为默认 24 小时"))

    def value(self) -> Any:
        cleaned = getattr(self, "cleaned_data", {})
        return _number(cleaned["hours"] if "hours" in cleaned else str(self.data.get("hours", "")))


class CareFilterForm(forms.Form):
    place = forms.ChoiceField(label=pgettext_lazy("filter", "地点"), required=False)
    alerting = forms.BooleanField(label=_("只看有告警的"), required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["place"].choices = ALL + place_choices(actor, Perm.RESIDENT_VIEW, AREA_KINDS)
        if self.is_bound:
            self.is_valid()

    def place_path(self) -> str | None:
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return access_place(self.actor, _place_id(data["place"])).path if data.get("place") else None

    def alerting_only(self) -> bool:
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return bool(data.get("alerting"))
