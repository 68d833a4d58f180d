"""Writes to the resident registry. Each takes ``actor=``, runs in one transaction and writes the audit entry."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.crypto import lookup_hash
from linli.core.errors import Conflict, ErrorCollector, NotFound, invalid
from linli.core.identity import clean_text, mask_id_number, mask_phone
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind, PlaceStatus
from linli.places.models import Place

from . import validation as v
from .choices import Relation, ResidentStatus, Sex
from .models import CareTag, EmergencyContact, Occupancy, Resident, ResidentTag

PUBLIC_FIELDS = ("name", "sex", "birth_date", "ethnicity", "notes", "status", "has_smartphone", "place_id")


def _snapshot(r: Resident) -> dict[str, Any]:
    # Sensitive values appear in the audit log only masked.
    data = {f: getattr(r, f) for f in PUBLIC_FIELDS}
    data["id_number"] = r.id_mask
    data["phone"] = r.phone_mask
    return data


def clean_resident_fields(data: dict[str, Any], errors: ErrorCollector, *, partial: bool,
                          current: Resident | None = None) -> dict[str, Any]:
    """Validate a resident's fields as a form, the API and the import see them; returns model values."""
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        out["name"] = v.check_name(data.get("name"), errors)
    id_number = current.id_number if current else ""
    if "id_number" in data:
        id_number = v.check_id_number(data.get("id_number"), errors)
        out["id_number"] = id_number
    if "phone" in data:
        out["phone"] = v.check_phone(data.get("phone"), errors)
    sex_given = "sex" in data and data.get("sex") not in (None, "")
    birth_given = "birth_date" in data and data.get("birth_date") not in (None, "")
    sex = v.check_sex(data.get("sex"), errors) if sex_given else (current.sex if current else Sex.UNKNOWN)
    birth = v.check_date(data.get("birth_date"), errors, "birth_date", "出生日期") if birth_given else (
        current.birth_date if current else None)
    if birth and birth > timezone.localdate():
        errors.add("birth_date", "future", "出生日期不能晚于今天", "the birth date is in the future")
    if id_number and ("id_number" in data or sex_given or birth_given):
        # The ID number decides: given values must agree with it, missing ones are taken from it (also when a
        # corrected ID number replaces one whose birth date the record still carries).
        out["sex"], out["birth_date"] = v.reconcile_identity(id_number, sex, birth if birth_given else None, errors,
                                                             sex_given=sex_given, birth_given=birth_given)
    else:
        if sex_given:
            out["sex"] = sex
        if birth_given:
            out["birth_date"] = birth
    for key, limit in (("ethnicity", 20), ("notes", 2000)):
        if key in data:
            out[key] = clean_text(data.get(key) or "")[:limit] if key == "ethnicity" else str(data.get(key) or "").strip()[:limit]
    if "has_smartphone" in data:
        out["has_smartphone"] = bool(data["has_smartphone"])
    if "status" in data:
        if data["status"] not in ResidentStatus.values:
            errors.add("status", "invalid_choice", "状态无效", "unknown status")
        out["status"] = data["status"]
    return out


def _apply_sensitive(resident: Resident, clean: dict[str, Any]) -> None:
    if "id_number" in clean:
        resident.id_number = clean["id_number"]
        resident.id_hash = lookup_hash("id", clean["id_number"])
        resident.id_mask = mask_id_number(clean["id_number"])
    if "phone" in clean:
        resident.phone = clean["phone"]
        resident.phone_hash = lookup_hash("phone", clean["phone"])
        resident.phone_mask = mask_phone(clean["phone"])


def _home_place(place: Place, errors: ErrorCollector) -> None:
    if place.kind not in (PlaceKind.DWELLING, PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING):
        errors.add("place", "wrong_kind", "居民应登记在房屋（或暂登记在社区、小区、楼栋）",
                   "a resident is registered in a dwelling (or provisionally a community, estate or building)")
    if place.status != PlaceStatus.ACTIVE:
        errors.add("place", "inactive", "该地点已合并或撤销", "the place has been merged or retired")


def register_resident(*, actor: Actor, place: Place, relation: str = "", since: Any = None,
                      tags: list[str] | None = None, source: str = "manual", **data: Any) -> Resident:
    errors = ErrorCollector()
    clean = clean_resident_fields(data, errors, partial=False)
    _home_place(place, errors)
    rel = ""
    if relation:
        rel = v.check_relation(relation, errors)
    if rel and place.kind != PlaceKind.DWELLING:
        errors.add("relation", "needs_dwelling", "与户主关系需要登记到具体房屋", "a relation needs a dwelling")
    since_date = v.check_date(since, errors, "since", "入住日期")
    tag_rows = _resolve_tags(tags or [], errors)
    errors.raise_if_any()
    actor.require(Perm.RESIDENT_EDIT, place.path)
    with transaction.atomic():
        resident = Resident(place=place, place_path=place.path, source=source)
        for key, value in clean.items():
            if key not in ("id_number", "phone"):
                setattr(resident, key, value)
        _apply_sensitive(resident, clean)
        if resident.id_hash and Resident.objects.filter(id_hash=resident.id_hash).exists():
            raise Conflict("该身份证号已登记，请查找已有居民后修改", "this ID number is already registered; find and edit that resident",
                           code="duplicate_id_number")
        try:
            with transaction.atomic():
                resident.save()
        except IntegrityError as exc:  # a concurrent registration of the same person
            raise Conflict("该身份证号已登记", "this ID number is already registered", code="duplicate_id_number") from exc
        if rel:
            Occupancy.objects.create(resident=resident, place=place, place_path=place.path, relation=rel, since=since_date)
        for tag, grade in tag_rows:
            ResidentTag.objects.create(resident=resident, tag=tag, grade=grade, since=timezone.localdate())
        audit.record(actor, "resident.register", target=resident,
                     after={**_snapshot(resident), "relation": rel, "tags": [t.code for t, _ in tag_rows]})
    return resident


def update_resident(*, actor: Actor, resident: Resident, **data: Any) -> Resident:
    actor.require(Perm.RESIDENT_EDIT, resident.place_path)
    errors = ErrorCollector()
    clean = clean_resident_fields(data, errors, partial=True, current=resident)
    errors.raise_if_any()
    with transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        before = _snapshot(current)
        for key, value in clean.items():
            if key not in ("id_number", "phone"):
                setattr(current, key, value)
        _apply_sensitive(current, clean)
        if current.id_hash and Resident.objects.filter(id_hash=current.id_hash).exclude(pk=current.pk).exists():
            raise invalid("id_number", "duplicate", "该身份证号已属于另一位居民", "this ID number belongs to another resident")
        current.save()
        b, a = audit.diff(before, _snapshot(current))
        if a:
            audit.record(actor, "resident.update", target=current, before=b, after=a)
    return current


def move_resident(*, actor: Actor, resident: Resident, place: Place) -> Resident:
    """Change the home place (the resident's scope) after checking both ends."""
    actor.require(Perm.RESIDENT_EDIT, resident.place_path)
    errors = ErrorCollector()
    _home_place(place, errors)
    errors.raise_if_any()
    actor.require(Perm.RESIDENT_EDIT, place.path)
    with transaction.atomic():
        old = resident.place_path
        Resident.objects.filter(pk=resident.pk).update(place=place, place_path=place.path)
        audit.record(actor, "resident.move", target=resident, before={"place_path": old}, after={"place_path": place.path})
    resident.refresh_from_db()
    return resident


def add_occupancy(*, actor: Actor, resident: Resident, dwelling: Place, relation: str, since: Any = None,
                  make_home: bool = True, note: str = "") -> Occupancy:
    errors = ErrorCollector()
    rel = v.check_relation(relation, errors)
    if dwelling.kind != PlaceKind.DWELLING:
        errors.add("dwelling", "wrong_kind", "请选择具体房屋", "choose a dwelling")
    elif dwelling.status != PlaceStatus.ACTIVE:
        errors.add("dwelling", "inactive", "该房屋已合并或撤销", "the dwelling has been merged or retired")
    since_date = v.check_date(since, errors, "since", "入住日期")
    errors.raise_if_any()
    actor.require(Perm.RESIDENT_EDIT, resident.place_path)
    actor.require(Perm.RESIDENT_EDIT, dwelling.path)
    with transaction.atomic():
        if Occupancy.objects.filter(resident=resident, place=dwelling, relation=rel, until__isnull=True).exists():
            raise Conflict("该居住关系已存在", "this occupancy already exists", code="duplicate_occupancy")
        occ = Occupancy.objects.create(resident=resident, place=dwelling, place_path=dwelling.path, relation=rel,
                                       since=since_date, note=clean_text(note)[:200])
        if make_home and resident.place_id != dwelling.pk and rel != Relation.OWNER:
            Resident.objects.filter(pk=resident.pk).update(place=dwelling, place_path=dwelling.path)
        audit.record(actor, "occupancy.add", target=resident, after={"dwelling": dwelling.pk, "relation": rel,
                                                                     "since": since_date})
    return occ


def end_occupancy(*, actor: Actor, occupancy: Occupancy, until: Any = None) -> Occupancy:
    actor.require(Perm.RESIDENT_EDIT, occupancy.place_path)
    errors = ErrorCollector()
    until_date = v.check_date(until, errors, "until", "截止日期") or timezone.localdate()
    if occupancy.since and until_date < occupancy.since:
        errors.add("until", "before_since", "截止日期不能早于起始日期", "the end date is before the start date")
    errors.raise_if_any()
    with transaction.atomic():
        changed = Occupancy.objects.filter(pk=occupancy.pk, until__isnull=True).update(until=until_date)
        if changed != 1:
            raise Conflict("该居住关系已结束", "this occupancy has already ended")
        audit.record(actor, "occupancy.end", target=occupancy.resident, after={"occupancy": occupancy.pk, "until": until_date})
    occupancy.refresh_from_db()
    return occupancy


def _resolve_tags(codes: list[str], errors: ErrorCollector) -> list[tuple[CareTag, int | None]]:
    """Tags by code or name, with an optional grade after a colon ("disabled:2", "残疾人:二级")."""
    out: list[tuple[CareTag, int | None]] = []
    if not codes:
        return out
    by_key: dict[str, CareTag] = {}
    for tag in CareTag.objects.filter(active=True):
        by_key[tag.code] = tag
        by_key[tag.name] = tag
        by_key[tag.name_en.lower()] = tag
    for raw in codes:
        text = clean_text(raw)
        if not text:
            continue
        key, _, grade_text = text.partition(":")
        tag = by_key.get(key) or by_key.get(key.lower())
        if tag is None:
            errors.add("tags", "unknown_tag", f"未知的特殊人群标签“{key}”", f"unknown care tag {key!r}")
            continue
        grade = None
        if grade_text:
            digits = grade_text.translate(str.maketrans("一二三四", "1234")).strip("级 ")
            if not tag.has_grade or not digits.isdigit() or not 1 <= int(digits) <= 4:
                errors.add("tags", "grade", f"标签“{tag.name}”的等级无效（1-4级）", f"invalid grade for {tag.code} (1-4)")
                continue
            grade = int(digits)
        earlier = next(((t, g) for t, g in out if t.pk == tag.pk), None)
        if earlier is not None:  # the same tag twice: harmless when the grades agree
            if earlier[1] != grade:
                errors.add("tags", "duplicate", f"标签“{tag.name}”重复且等级不同", f"care tag {tag.code} is given twice")
            continue
        out.append((tag, grade))
    return out


def set_tags(*, actor: Actor, resident: Resident, tags: list[str]) -> list[ResidentTag]:
    """Make the resident's open tags exactly ``tags``: new ones start today, dropped ones end today."""
    actor.require(Perm.RESIDENT_EDIT, resident.place_path)
    errors = ErrorCollector()
    wanted = _resolve_tags(tags, errors)
    errors.raise_if_any()
    today = timezone.localdate()
    with transaction.atomic():
        current = {rt.tag_id: rt for rt in ResidentTag.objects.filter(resident=resident, until__isnull=True).select_related("tag")}
        wanted_ids = {t.pk: g for t, g in wanted}
        before = sorted(rt.tag.code + (f":{rt.grade}" if rt.grade else "") for rt in current.values())
        for tag_id, rt in current.items():
            if tag_id not in wanted_ids:
                ResidentTag.objects.filter(pk=rt.pk).update(until=today)
            elif rt.grade != wanted_ids[tag_id]:
                ResidentTag.objects.filter(pk=rt.pk).update(grade=wanted_ids[tag_id])
        for tag, grade in wanted:
            if tag.pk not in current:
                ResidentTag.objects.create(resident=resident, tag=tag, grade=grade, since=today)
        after = sorted(t.code + (f":{g}" if g else "") for t, g in wanted)
        if before != after:
            audit.record(actor, "resident.tags", target=resident, before={"tags": before}, after={"tags": after})
    return list(ResidentTag.objects.filter(resident=resident, until__isnull=True).select_related("tag"))


def add_emergency_contact(*, actor: Actor, resident: Resident, name: str, phone: str, relation: str = "",
                          priority: int = 1) -> EmergencyContact:
    actor.require(Perm.RESIDENT_EDIT, resident.place_path)
    errors = ErrorCollector()
    clean_name = v.check_name(name, errors)
    clean_phone = v.check_phone(phone, errors)
    if not clean_phone and not any(e.field == "phone" for e in errors.errors):
        errors.add("phone", "required", "紧急联系人电话不能为空", "the contact's phone is required")
    if not isinstance(priority, int) or not 1 <= priority <= 9:
        errors.add("priority", "out_of_range", "优先级应为1到9", "the priority is a number from 1 to 9")
    errors.raise_if_any()
    with transaction.atomic():
        # Linked to a resident with that phone only inside the actor's own area: no hint about other communities.
        linked = (Resident.objects.filter(actor.scope_q(Perm.RESIDENT_VIEW), phone_hash=lookup_hash("phone", clean_phone))
                  .exclude(pk=resident.pk).order_by("pk").first())
        contact = EmergencyContact.objects.create(resident=resident, name=clean_name, relation=clean_text(relation)[:20],
                                                  phone=clean_phone, phone_mask=mask_phone(clean_phone),
                                                  contact_resident=linked, priority=priority)
        audit.record(actor, "resident.emergency_contact.add", target=resident,
                     after={"name": clean_name, "phone": mask_phone(clean_phone), "relation": relation})
    return contact


def remove_emergency_contact(*, actor: Actor, contact: EmergencyContact) -> None:
    actor.require(Perm.RESIDENT_EDIT, contact.resident.place_path)
    with transaction.atomic():
        deleted, _ = EmergencyContact.objects.filter(pk=contact.pk).delete()
        if not deleted:
            raise NotFound("emergency contact")
        audit.record(actor, "resident.emergency_contact.remove", target=contact.resident,
                     before={"name": contact.name, "phone": contact.phone_mask})


SENSITIVE = {"id_number": "身份证号", "phone": "手机号"}


def reveal_sensitive(*, actor: Actor, resident: Resident, field: str, reason: str = "") -> str:
    """The full ID number or phone, for a role that needs it inside its area; every view is audited."""
    if field not in SENSITIVE:
        raise invalid("field", "invalid_choice", "只能查看身份证号或手机号", "field must be id_number or phone")
    actor.require(Perm.RESIDENT_REVEAL, resident.place_path)
    value = getattr(resident, field) or ""
    audit.record(actor, f"resident.reveal.{field}", target=resident, after={"field": field, "reason": clean_text(reason)[:200]})
    return value
from .imports.actions import commit_import, export_residents, start_import  # noqa: E402,F401
