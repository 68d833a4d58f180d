"""Configuration of ticket handling: categories (staff add their own), organisations and their members, and
who is on duty."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.text import slugify

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import Conflict, ErrorCollector, invalid
from linli.core.identity import clean_text
from linli.core.permissions import ROLE_PERMISSIONS, Perm
from linli.places.choices import PlaceKind
from linli.places.models import Place

from ..choices import DispatchMode, OrganisationKind
from ..models import Category, Membership, Organisation

CATEGORY_FIELDS = ("name", "name_en", "response_minutes", "resolution_hours", "remind_before_minutes",
                   "dispatch_mode", "organisation_kind", "return_visit", "reopen_window_days", "active", "sort")
# Bounds of the numeric settings of a category: (lowest, highest, 中文名).
LIMITS = {
    "response_minutes": (1, 60 * 24 * 30, "响应时限"),
    "resolution_hours": (1, 24 * 365, "办结时限"),
    "remind_before_minutes": (0, 60 * 24 * 30, "提前提醒"),
    "reopen_window_days": (0, 365, "可重新打开天数"),
    "sort": (0, 32767, "排序"),
}
ORG_PLACE_KINDS = {
    OrganisationKind.PROPERTY_COMPANY: (PlaceKind.ESTATE, PlaceKind.COMMUNITY),
    OrganisationKind.COMMUNITY_COMMITTEE: (PlaceKind.COMMUNITY,),
    OrganisationKind.STREET_OFFICE: (PlaceKind.STREET,),
}


def _snapshot(category: Category) -> dict[str, Any]:
    return {f: getattr(category, f) for f in ("code", "place_path", *CATEGORY_FIELDS)}


def _clean_category(data: dict[str, Any], errors: ErrorCollector) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key in ("name", "name_en"):
        if key in data:
            text = clean_text(data[key] or "")
            if key == "name" and not text:
                errors.add("name", "required", "名称不能为空", "the name is required")
            elif len(text) > (40 if key == "name" else 60):
                errors.add(key, "too_long", "名称过长", f"{key} is too long")
            clean[key] = text
    for key, (lo, hi, zh) in LIMITS.items():
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                errors.add(key, "out_of_range", f"{zh}应为{lo}到{hi}之间的整数", f"{key} must be a whole number from {lo} to {hi}")
            clean[key] = value
    for key, choices, zh in (("dispatch_mode", DispatchMode, "派单方式"), ("organisation_kind", OrganisationKind, "责任机构类型")):
        if key in data:
            if data[key] not in choices.values:
                errors.add(key, "invalid_choice", f"{zh}无效", f"unknown {key} {data[key]!r}")
            clean[key] = data[key]
    for key in ("return_visit", "active"):
        if key in data:
            clean[key] = bool(data[key])
    return clean


def create_category(*, actor: Actor, code: str, name: str, place: Place | None = None, **data: Any) -> Category:
    """A category for the whole platform (``place`` None) or for a place's subtree."""
    errors = ErrorCollector()
    slug = slugify(code or "")[:40]
    if not slug:
        errors.add("code", "required", "请填写英文代码（字母、数字、连字符）", "give a code (letters, digits, hyphens)")
    clean = _clean_category({**data, "name": name}, errors)
    errors.raise_if_any()
    path = place.path if place is not None else ""
    actor.require(Perm.TICKET_CONFIGURE, path or "/")
    with transaction.atomic():
        if Category.objects.filter(place_path=path, code=slug).exists():
            raise invalid("code", "duplicate", "此范围内已有相同代码的类别", f"a category {slug!r} already exists there")
        category = Category.objects.create(code=slug, place=place, place_path=path, **clean)
        audit.record(actor, "ticket.category.create", target=category, place_path=path, after=_snapshot(category))
    return category


def update_category(*, actor: Actor, category: Category, **data: Any) -> Category:
    """Change a category; tickets already filed keep the deadlines they were given."""
    actor.require(Perm.TICKET_CONFIGURE, category.place_path or "/")
    errors = ErrorCollector()
    clean = _clean_category(data, errors)
    errors.raise_if_any()
    with transaction.atomic():
        current = Category.objects.select_for_update().get(pk=category.pk)
        before = _snapshot(current)
        for key, value in clean.items():
            setattr(current, key, value)
        current.save()
        b, a = audit.diff(before, _snapshot(current))
        if a:
            audit.record(actor, "ticket.category.update", target=current, place_path=current.place_path,
                         before=b, after=a)
    return current


def create_organisation(*, actor: Actor, kind: str, name: str, place: Place) -> Organisation:
    errors = ErrorCollector()
    if kind not in OrganisationKind.values:
        errors.add("kind", "invalid_choice", "机构类型无效", f"unknown organisation kind {kind!r}")
    elif place.kind not in ORG_PLACE_KINDS[OrganisationKind(kind)]:
        errors.add("place_id", "wrong_kind", "该类机构不能设在此类地点", f"a {kind} is not set up on a {place.kind}")
    text = clean_text(name or "")
    if not text or len(text) > 120:
        errors.add("name", "required", "名称不能为空且不超过120个字", "the name is required (at most 120 characters)")
    errors.raise_if_any()
    actor.require(Perm.TICKET_CONFIGURE, place.path)
    with transaction.atomic():
        if Organisation.objects.filter(place=place, kind=kind, name=text).exists():
            raise invalid("name", "duplicate", "此地点已有同名机构", "an organisation of this name exists there")
        org = Organisation.objects.create(kind=kind, name=text, place=place, place_path=place.path)
        audit.record(actor, "ticket.organisation.create", target=org, after={"kind": kind, "name": text, "place": place.pk})
    return org


def update_organisation(*, actor: Actor, organisation: Organisation, **data: Any) -> Organisation:
    """Rename an organisation or switch it off (``active``). An inactive one takes no new tickets (the next one
    up of its kind does); the tickets it already has stay with it."""
    actor.require(Perm.TICKET_CONFIGURE, organisation.place_path)
    errors = ErrorCollector()
    clean: dict[str, Any] = {}
    if "name" in data:
        text = clean_text(data["name"] or "")
        if not text or len(text) > 120:
            errors.add("name", "required", "名称不能为空且不超过120个字", "the name is required (at most 120 characters)")
        clean["name"] = text
    if "active" in data:
        clean["active"] = bool(data["active"])
    errors.raise_if_any()
    with transaction.atomic():
        current = Organisation.objects.select_for_update().get(pk=organisation.pk)
        if "name" in clean and Organisation.objects.filter(place_id=current.place_id, kind=current.kind,
                                                           name=clean["name"]).exclude(pk=current.pk).exists():
            raise invalid("name", "duplicate", "此地点已有同名机构", "an organisation of this name exists there")
        before = {"name": current.name, "active": current.active}
        for key, value in clean.items():
            setattr(current, key, value)
        current.save()
        b, a = audit.diff(before, {"name": current.name, "active": current.active})
        if a:
            audit.record(actor, "ticket.organisation.update", target=current, place_path=current.place_path,
                         before=b, after=a)
    return current


def remove_member(*, actor: Actor, membership: Membership) -> Membership:
    """The member leaves the organisation (the membership is kept, inactive, for the history). Tickets already
    assigned to them stay theirs until reassigned."""
    actor.require(Perm.TICKET_CONFIGURE, membership.organisation.place_path)
    with transaction.atomic():
        changed = Membership.objects.filter(pk=membership.pk, active=True).update(active=False)
        if changed != 1:
            raise Conflict("该人员已不是此机构成员", "the user is no longer a member", code="not_a_member")
        audit.record(actor, "ticket.member.remove", target_type="tickets.membership", target_id=membership.pk,
                     target_label=f"{membership.organisation.name} {membership.user_id}",
                     place_path=membership.organisation.place_path,
                     before={"active": True}, after={"active": False})
    membership.refresh_from_db()
    return membership


def add_member(*, actor: Actor, organisation: Organisation, assignment: Any) -> Membership:
    """A staff member joins an organisation through the role assignment that lets them handle tickets there."""
    actor.require(Perm.TICKET_CONFIGURE, organisation.place_path)
    overlaps = (organisation.place_path.startswith(assignment.place_path or "/")
                or (assignment.place_path or "/").startswith(organisation.place_path))
    if not assignment.active or Perm.TICKET_HANDLE not in ROLE_PERMISSIONS.get(assignment.role, ()) or not overlaps:
        raise invalid("assignment_id", "cannot_handle", "该角色不能处理此机构的工单",
                      "this role assignment cannot handle the organisation's tickets")
    with transaction.atomic():
        if Membership.objects.filter(organisation=organisation, user_id=assignment.user_id, active=True).exists():
            raise Conflict("该人员已是此机构成员", "the user is already a member", code="duplicate_member")
        membership = Membership.objects.create(organisation=organisation, assignment=assignment,
                                               user_id=assignment.user_id)
        audit.record(actor, "ticket.member.add", target_type="tickets.membership", target_id=membership.pk,
                     target_label=f"{organisation.name} {assignment.user_id}", place_path=organisation.place_path,
                     after={"organisation": organisation.pk, "user": assignment.user_id, "assignment": assignment.pk})
    return membership


def set_on_duty(*, actor: Actor, membership: Membership, on_duty: bool) -> Membership:
    """On or off duty (the member themselves, or who configures the organisation). The flag is the one of the
    member's role assignment, so every organisation they belong to through it sees the same."""
    from linli.accounts.models import RoleAssignment

    own = actor.user is not None and getattr(actor.user, "pk", None) == membership.user_id
    if not own:
        actor.require(Perm.TICKET_CONFIGURE, membership.organisation.place_path)
    with transaction.atomic():
        before = RoleAssignment.objects.filter(pk=membership.assignment_id).values_list("on_duty", flat=True).first()
        RoleAssignment.objects.filter(pk=membership.assignment_id).update(on_duty=bool(on_duty))
        audit.record(actor, "ticket.member.duty", target_type="tickets.membership", target_id=membership.pk,
                     target_label=str(membership.user_id), place_path=membership.organisation.place_path,
                     before={"on_duty": before}, after={"on_duty": bool(on_duty)})
    membership.assignment.refresh_from_db()
    return membership
