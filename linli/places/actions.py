"""Writes to the place tree. Every function takes ``actor=``, runs in one transaction and is audited."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import Conflict, ErrorCollector, NotFound, invalid
from linli.core.identity import clean_text
from linli.core.permissions import Perm

from .choices import PARENT_KIND, FacilityKind, PlaceKind, PlaceStatus
from .models import Facility, Grid, Place, PlaceEvent
from .paths import child_path, natural_key, rewrite_prefix, scoped_models

PLACE_FIELDS = ("name", "code", "longitude", "latitude", "boundary", "address", "year_built", "floors",
                "dwelling_count", "area_m2", "attrs")


def _snapshot(place: Place) -> dict[str, Any]:
    return {f: getattr(place, f) for f in ("kind", "parent_id", "path", "status") + PLACE_FIELDS}


def _validate_place_fields(data: dict[str, Any], errors: ErrorCollector) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "name" in data:
        name = clean_text(data["name"])
        if not name:
            errors.add("name", "required", "名称不能为空", "the name is required")
        elif len(name) > 100:
            errors.add("name", "too_long", "名称不能超过100个字", "the name is longer than 100 characters")
        clean["name"] = name
    if "code" in data:
        clean["code"] = clean_text(data["code"] or "")[:40]
    for key, lo, hi, zh in (("longitude", -180, 180, "经度"), ("latitude", -90, 90, "纬度")):
        if key in data:
            value = data[key]
            if value in (None, ""):
                clean[key] = None
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                errors.add(key, "not_a_number", f"{zh}应为数字", f"{key} must be a number")
                continue
            if not lo <= number <= hi:
                errors.add(key, "out_of_range", f"{zh}应在{lo}到{hi}之间", f"{key} must be between {lo} and {hi}")
            clean[key] = number
    if "boundary" in data:
        boundary = data["boundary"]
        if boundary not in (None, "", {}):
            if not isinstance(boundary, dict) or boundary.get("type") not in ("Polygon", "MultiPolygon") or not isinstance(
                boundary.get("coordinates"), list
            ):
                errors.add("boundary", "geojson", "边界应为GeoJSON Polygon或MultiPolygon", "the boundary must be a GeoJSON Polygon or MultiPolygon")
        clean["boundary"] = boundary or None
    for key, zh, hi in (("year_built", "建成年份", 2100), ("floors", "层数", 200), ("dwelling_count", "户数", 1_000_000)):
        if key in data:
            value = data[key]
            if value in (None, ""):
                clean[key] = None
                continue
            try:
                number = int(value)
            except (TypeError, ValueError):
                errors.add(key, "not_an_integer", f"{zh}应为整数", f"{key} must be a whole number")
                continue
            if number < 0 or number > hi or (key == "year_built" and number < 1800):
                errors.add(key, "out_of_range", f"{zh}超出合理范围", f"{key} is out of range")
            clean[key] = number
    if "area_m2" in data:
        value = data["area_m2"]
        if value in (None, ""):
            clean["area_m2"] = None
        else:
            try:
                clean["area_m2"] = Decimal(str(value)).quantize(Decimal("0.01"))
                if clean["area_m2"] < 0:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors.add("area_m2", "not_a_number", "面积应为非负数", "the area must be a non-negative number")
    if "address" in data:
        clean["address"] = clean_text(data["address"] or "")[:200]
    if "attrs" in data:
        if not isinstance(data["attrs"] or {}, dict):
            errors.add("attrs", "not_an_object", "附加属性应为键值对", "attrs must be an object")
        clean["attrs"] = data["attrs"] or {}
    return clean


def _name_taken(parent: Place | None, name: str, exclude_pk: int | None = None) -> bool:
    qs = Place.objects.filter(parent=parent, name=name, status=PlaceStatus.ACTIVE)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def create_place(*, actor: Actor, kind: str, parent: Place | None, **data: Any) -> Place:
    errors = ErrorCollector()
    if kind not in PlaceKind.values:
        errors.add("kind", "invalid_choice", "地点类型无效", f"unknown place kind {kind!r}")
        errors.raise_if_any()
    expected_parent = PARENT_KIND[PlaceKind(kind)]
    if expected_parent is None and parent is not None:
        errors.add("parent", "wrong_kind", "区不能有上级地点", "a district has no parent")
    if expected_parent is not None and (parent is None or parent.kind != expected_parent):
        errors.add("parent", "wrong_kind", f"{PlaceKind(kind).label}必须位于{PlaceKind(expected_parent).label}之下",
                   f"a {kind} must be inside a {expected_parent}")
    if parent is not None and parent.status != PlaceStatus.ACTIVE:
        errors.add("parent", "inactive", "上级地点已合并或撤销", "the parent place has been merged or retired")
    data.setdefault("name", "")
    clean = _validate_place_fields(data, errors)
    errors.raise_if_any()
    parent_path = parent.path if parent else "/"
    if kind == PlaceKind.DISTRICT:
        actor.require(Perm.PLACE_EDIT, "/")
    else:
        actor.require(Perm.PLACE_EDIT, parent_path)
    with transaction.atomic():
        if _name_taken(parent, clean["name"]):
            raise invalid("name", "duplicate", f"同一上级下已有名为“{clean['name']}”的地点",
                          f"a place named {clean['name']!r} already exists there")
        place = Place(kind=kind, parent=parent, depth=(parent.depth + 1 if parent else 0),
                      path=f"/tmp-{id(object())}/", sort_key=natural_key(clean["name"]), **clean)
        place.save()
        place.path = child_path(parent.path if parent else None, place.pk)
        Place.objects.filter(pk=place.pk).update(path=place.path)
        audit.record(actor, "place.create", target=place, after=_snapshot(place))
    return place


def update_place(*, actor: Actor, place: Place, **data: Any) -> Place:
    actor.require(Perm.PLACE_EDIT, place.path)
    errors = ErrorCollector()
    clean = _validate_place_fields(data, errors)
    errors.raise_if_any()
    with transaction.atomic():
        current = Place.objects.select_for_update().get(pk=place.pk)
        if current.status != PlaceStatus.ACTIVE:
            raise Conflict("已合并或撤销的地点不能修改", "a merged or retired place cannot be changed")
        if "name" in clean and clean["name"] != current.name and _name_taken(current.parent, clean["name"], current.pk):
            raise invalid("name", "duplicate", f"同一上级下已有名为“{clean['name']}”的地点",
                          f"a place named {clean['name']!r} already exists there")
        before = _snapshot(current)
        for key, value in clean.items():
            setattr(current, key, value)
        current.sort_key = natural_key(current.name)
        current.save()
        b, a = audit.diff(before, _snapshot(current))
        if a:
            audit.record(actor, "place.update", target=current, before=b, after=a)
    return current


def merge_estates(*, actor: Actor, estates: list[Place], into_name: str = "", into: Place | None = None,
                  note: str = "") -> Place:
    """拆墙并院: the buildings of ``estates`` move under one estate (an existing one, or a new one named
    ``into_name``); the old estates are marked merged and keep their history; every scoped row follows.

    Bad input is a ValidationFailed; an estate that is already merged or retired is a Conflict (merging twice)."""
    errors = ErrorCollector()
    sources = [e for e in {e.pk: e for e in estates}.values() if into is None or e.pk != into.pk]
    everything = sources + ([into] if into is not None else [])
    if len(everything) < 2:
        errors.add("estates", "too_few", "至少需要两个小区才能合并", "at least two estates are needed for a merge")
    if any(e.kind != PlaceKind.ESTATE for e in everything):
        errors.add("estates", "wrong_kind", "只能合并小区", "only estates can be merged")
    elif len({e.parent_id for e in everything}) > 1:
        errors.add("estates", "different_communities", "只能合并同一社区内的小区", "only estates of one community can be merged")
    if into is None and not clean_text(into_name):
        errors.add("into_name", "required", "请填写合并后的小区名称", "name the merged estate")
    errors.raise_if_any()
    for e in everything:
        actor.require(Perm.PLACE_MERGE, e.path)
    user = actor.user if actor.user is not None and getattr(actor.user, "pk", None) else None
    with transaction.atomic():
        locked_all = list(Place.objects.select_for_update().filter(pk__in=[e.pk for e in everything]).order_by("pk"))
        if any(e.status != PlaceStatus.ACTIVE for e in locked_all):
            raise Conflict("有小区已被合并或撤销", "an estate has already been merged or retired", code="already_merged")
        locked = [e for e in locked_all if into is None or e.pk != into.pk]
        community = locked[0].parent
        if into is None:
            target = _create_merge_target(actor, community, locked, clean_text(into_name), note, user)
        else:
            target = next(e for e in locked_all if e.pk == into.pk)
        taken = set(Place.objects.filter(parent=target, status=PlaceStatus.ACTIVE).values_list("name", flat=True))
        moved = reassigned = 0
        for estate in locked:
            buildings = list(Place.objects.filter(parent=estate, status=PlaceStatus.ACTIVE).order_by("sort_key", "pk"))
            # When one name clashes, all of the estate's buildings take its name as prefix ("邮政宿舍1栋", "邮政宿舍2栋").
            prefix = estate.name if any(b.name in taken for b in buildings) else ""
            for building in buildings:
                _move_building(building, estate, target, taken, prefix, note, user)
                moved += 1
            # Rows that hung from the old estate itself (facilities, residents registered provisionally on it, role
            # assignments) move to the new one; a role the user already holds there is not held twice.
            reassigned += _retire_duplicate_assignments(estate, target)
            for model in scoped_models():
                if any(f.name == "place" for f in model._meta.concrete_fields):
                    model.objects.filter(place=estate).update(place=target, place_path=target.path)
            Place.objects.filter(pk=estate.pk).update(status=PlaceStatus.MERGED, merged_into=target)
            PlaceEvent.objects.create(place=estate, kind="merged_into", actor=user, old_parent=estate.parent,
                                      new_parent=target, old_path=estate.path, new_path=target.path,
                                      old_name=estate.name, new_name=target.name, note=note)
        Place.objects.filter(pk=target.pk).update(
            dwelling_count=sum((e.dwelling_count or 0) for e in locked) + (target.dwelling_count or 0) or None
        )
        target.refresh_from_db()
        audit.record(actor, "place.merge_estates", target=target,
                     before={"estates": [{"id": e.pk, "name": e.name, "path": e.path} for e in locked]},
                     after={"into": target.pk, "name": target.name, "buildings_moved": moved,
                            "duplicate_roles_retired": reassigned, "note": note})
    return target


def _create_merge_target(actor: Actor, community: Place, sources: list[Place], name: str, note: str, user: Any) -> Place:
    if _name_taken(community, name) and not any(e.name == name for e in sources):
        raise invalid("into_name", "duplicate", f"社区内已有名为“{name}”的小区", f"an estate named {name!r} already exists")
    # A source estate may carry the new name: it is renamed first so the unique name is free.
    for e in sources:
        if e.name == name:
            e.name = f"{e.name}（原）"
            Place.objects.filter(pk=e.pk).update(name=e.name, sort_key=natural_key(e.name))
    target = create_place(actor=actor, kind=PlaceKind.ESTATE, parent=community, name=name,
                          year_built=min((e.year_built for e in sources if e.year_built), default=None),
                          attrs={"merged_from": [e.pk for e in sources]})
    PlaceEvent.objects.create(place=target, kind="created_by_merge", actor=user, new_path=target.path,
                              new_name=target.name, note=note)
    return target


def _move_building(building: Place, estate: Place, target: Place, taken: set[str], prefix: str, note: str,
                   user: Any) -> None:
    """Re-parent one building (its name prefixed, and numbered if still taken) and rewrite every path below."""
    old_path, old_name = building.path, building.name
    new_name = f"{prefix}{old_name}"
    suffix = 2
    while new_name in taken:
        new_name, suffix = f"{estate.name}{old_name}（{suffix}）", suffix + 1
    taken.add(new_name)
    new_path = child_path(target.path, building.pk)
    Place.objects.filter(pk=building.pk).update(parent=target, name=new_name, sort_key=natural_key(new_name))
    rewrite_prefix(old_path, new_path)
    PlaceEvent.objects.create(place=building, kind="moved", actor=user, old_parent=estate, new_parent=target,
                              old_path=old_path, new_path=new_path, old_name=old_name, new_name=new_name, note=note)


def _retire_duplicate_assignments(estate: Place, target: Place) -> int:
    """Deactivate role assignments on ``estate`` that the same user already holds on ``target`` (one active
    assignment per user, role and place); the others then move with the estate's rows."""
    from linli.accounts.models import RoleAssignment

    held = set(RoleAssignment.objects.filter(place=target, active=True).values_list("user_id", "role"))
    duplicates = [ra.pk for ra in RoleAssignment.objects.filter(place=estate, active=True)
                  if (ra.user_id, ra.role) in held]
    return RoleAssignment.objects.filter(pk__in=duplicates).update(active=False)


def retire_place(*, actor: Actor, place: Place, reason: str) -> Place:
    actor.require(Perm.PLACE_EDIT, place.path)
    if not clean_text(reason):
        raise invalid("reason", "required", "请填写撤销原因", "give the reason")
    with transaction.atomic():
        if Place.objects.filter(parent=place, status=PlaceStatus.ACTIVE).exists():
            raise Conflict("该地点下还有在用的下级地点", "this place still has active places inside it", code="has_children")
        changed = Place.objects.filter(pk=place.pk, status=PlaceStatus.ACTIVE).update(status=PlaceStatus.RETIRED)
        if changed != 1:
            raise Conflict("该地点已被合并或撤销", "the place was already merged or retired")
        audit.record(actor, "place.retire", target=place, before={"status": "active"}, after={"status": "retired", "reason": reason})
    place.refresh_from_db()
    return place


# ---------------------------------------------------------------- facilities

FACILITY_FIELDS = ("kind", "name", "address", "longitude", "latitude", "floor_area_m2", "land_area_m2", "capacity",
                   "opening_hours", "phone", "operator", "attrs", "active")


def _validate_facility(data: dict[str, Any], errors: ErrorCollector, *, partial: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "kind" in data or not partial:
        if data.get("kind") not in FacilityKind.values:
            errors.add("kind", "invalid_choice", "设施类型无效", "unknown facility kind")
        clean["kind"] = data.get("kind")
    if "name" in data or not partial:
        name = clean_text(data.get("name"))
        if not name:
            errors.add("name", "required", "名称不能为空", "the name is required")
        clean["name"] = name[:120]
    place_like = _validate_place_fields({k: data[k] for k in ("longitude", "latitude", "address") if k in data}, errors)
    clean.update(place_like)
    for key, zh in (("floor_area_m2", "建筑面积"), ("land_area_m2", "用地面积")):
        if key in data:
            value = data[key]
            if value in (None, ""):
                clean[key] = None
                continue
            try:
                clean[key] = Decimal(str(value)).quantize(Decimal("0.01"))
                if clean[key] < 0:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors.add(key, "not_a_number", f"{zh}应为非负数", f"{key} must be a non-negative number")
    if "capacity" in data:
        value = data["capacity"]
        try:
            clean["capacity"] = None if value in (None, "") else int(value)
            if clean["capacity"] is not None and clean["capacity"] < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors.add("capacity", "not_an_integer", "容量应为非负整数", "the capacity must be a whole number")
    for key in ("opening_hours", "phone", "operator"):
        if key in data:
            clean[key] = clean_text(data[key] or "")[:120]
    if "attrs" in data:
        clean["attrs"] = data["attrs"] or {}
    if "active" in data:
        clean["active"] = bool(data["active"])
    return clean


def create_facility(*, actor: Actor, place: Place, **data: Any) -> Facility:
    errors = ErrorCollector()
    clean = _validate_facility(data, errors, partial=False)
    if place.kind not in (PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING):
        errors.add("place", "wrong_kind", "设施应挂在街道、社区、小区或楼栋下", "a facility belongs to a street, community, estate or building")
    errors.raise_if_any()
    actor.require(Perm.FACILITY_EDIT, place.path)
    with transaction.atomic():
        facility = Facility.objects.create(place=place, place_path=place.path, **clean)
        audit.record(actor, "facility.create", target=facility, after={f: getattr(facility, f) for f in FACILITY_FIELDS})
    return facility


def update_facility(*, actor: Actor, facility: Facility, **data: Any) -> Facility:
    actor.require(Perm.FACILITY_EDIT, facility.place_path)
    errors = ErrorCollector()
    clean = _validate_facility(data, errors, partial=True)
    errors.raise_if_any()
    with transaction.atomic():
        before = {f: getattr(facility, f) for f in FACILITY_FIELDS}
        for key, value in clean.items():
            setattr(facility, key, value)
        facility.save()
        b, a = audit.diff(before, {f: getattr(facility, f) for f in FACILITY_FIELDS})
        if a:
            audit.record(actor, "facility.update", target=facility, before=b, after=a)
    return facility


# ---------------------------------------------------------------- grids

def save_grid(*, actor: Actor, community: Place, name: str, building_ids: list[int], worker_ids: list[int] | None = None,
              code: str = "", grid: Grid | None = None) -> Grid:
    from django.contrib.auth import get_user_model

    errors = ErrorCollector()
    if community.kind != PlaceKind.COMMUNITY:
        errors.add("community", "wrong_kind", "网格属于社区", "a grid belongs to a community")
    if grid is not None and grid.place_id != community.pk:
        errors.add("community", "moved", "网格不能移到另一个社区", "a grid cannot move to another community")
    name = clean_text(name)
    if not name:
        errors.add("name", "required", "名称不能为空", "the name is required")
    buildings = list(Place.objects.filter(pk__in=building_ids))
    if len(buildings) != len(set(building_ids)) or any(
        b.kind != PlaceKind.BUILDING or b.status != PlaceStatus.ACTIVE or not b.path.startswith(community.path)
        for b in buildings
    ):
        errors.add("building_ids", "outside", "网格只能包含本社区的楼栋", "a grid holds buildings of its own community only")
    workers = list(get_user_model().objects.filter(pk__in=worker_ids or []))
    if len(workers) != len(set(worker_ids or [])):
        errors.add("worker_ids", "unknown", "网格员不存在", "unknown grid worker")
    errors.raise_if_any()
    actor.require(Perm.GRID_EDIT, community.path)
    with transaction.atomic():
        if Grid.objects.filter(place=community, name=name).exclude(pk=getattr(grid, "pk", None)).exists():
            raise invalid("name", "duplicate", "社区内已有同名网格", "a grid with this name already exists")
        before = None
        if grid is None:
            grid = Grid.objects.create(place=community, place_path=community.path, name=name, code=clean_text(code))
        else:
            before = {"name": grid.name, "buildings": sorted(grid.buildings.values_list("pk", flat=True))}
            grid.name, grid.code = name, clean_text(code)
            grid.save()
        grid.buildings.set(buildings)
        if worker_ids is not None:
            grid.workers.set(workers)
        audit.record(actor, "grid.save", target=grid, before=before,
                     after={"name": name, "buildings": sorted(b.pk for b in buildings),
                            **({"workers": sorted(w.pk for w in workers)} if worker_ids is not None else {})})
    return grid


def refresh_dwelling_counts(*, actor: Actor, place: Place) -> int:
    """Recount the dwellings under each estate and building of ``place`` (after imports and merges)."""
    actor.require(Perm.PLACE_EDIT, place.path)
    updated = 0
    with transaction.atomic():
        for node in Place.objects.filter(path__startswith=place.path, kind__in=[PlaceKind.ESTATE, PlaceKind.BUILDING],
                                         status=PlaceStatus.ACTIVE):
            count = Place.objects.filter(path__startswith=node.path, kind=PlaceKind.DWELLING, status=PlaceStatus.ACTIVE).count()
            if node.dwelling_count != count:
                Place.objects.filter(pk=node.pk).update(dwelling_count=count)
                updated += 1
    return updated


def get_place(pk: int) -> Place:
    try:
        return Place.objects.get(pk=pk)
    except Place.DoesNotExist as exc:
        raise NotFound("place") from exc


__all__ = ["create_place", "update_place", "merge_estates", "retire_place", "create_facility", "update_facility",
           "save_grid", "refresh_dwelling_counts"]
