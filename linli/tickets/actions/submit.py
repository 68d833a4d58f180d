"""Submitting a ticket (a resident for themselves, staff for a resident who phoned, walked in or wrote on the
message board) and attaching photos."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import Conflict, ErrorCollector, FieldError, PermissionDenied, ValidationFailed
from linli.core.identity import clean_prose, clean_text
from linli.core.permissions import Perm
from linli.people.models import Resident
from linli.places.choices import PlaceKind
from linli.places.models import Place

from .. import queries
from ..choices import Channel, EventKind, OrganisationKind, PhotoStage, TicketKind, TicketStatus
from ..models import Category, Organisation, Ticket, TicketPhoto
from ..photos import CleanPhoto, check_and_clean
from ..transitions import OPEN, Party, status_zh
from .base import event, notify_status, parties_of

MAX_PHOTOS = 9
TITLE_MAX = 100
DESCRIPTION_MAX = 2000
TICKET_PLACE_KINDS = (PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING, PlaceKind.ENTRANCE, PlaceKind.DWELLING)
STAFF_CHANNELS = tuple(c for c in Channel.values if c != Channel.APP)


@dataclass(frozen=True)
class Upload:
    """A photo as uploaded: its file name (for messages) and its bytes."""

    name: str
    data: bytes


def responsible_kind(kind: str, category: Category) -> str:
    """The organisation kind a ticket goes to: the category's, except that a complaint about what a property
    company does goes to the community committee that supervises it (nobody handles complaints about themselves)."""
    if kind == TicketKind.COMPLAINT and category.organisation_kind == OrganisationKind.PROPERTY_COMPANY:
        return OrganisationKind.COMMUNITY_COMMITTEE
    return category.organisation_kind


def resident_may_report_at(actor: Actor, place: Place) -> bool:
    """A resident reports at their own dwelling or at a public spot (estate, building, entrance) of their estate."""
    homes = [g.path for g in actor.grants if g.role == "resident"]
    if place.kind == PlaceKind.DWELLING:
        return place.path in homes
    estates = queries.estate_paths(homes)
    return place.kind != PlaceKind.COMMUNITY and any(place.path.startswith(e) for e in estates)


def _clean_text_fields(errors: ErrorCollector, description: str, title: str) -> tuple[str, str]:
    text = clean_prose(description or "")
    if not text:
        errors.add("description", "required", "请描述问题", "describe the problem")
    elif len(text) > DESCRIPTION_MAX:
        errors.add("description", "too_long", f"描述不能超过{DESCRIPTION_MAX}个字",
                   f"the description is longer than {DESCRIPTION_MAX} characters")
    heading = clean_prose(title or "").replace("\n", " ") or text[:30].replace("\n", " ")
    if len(heading) > TITLE_MAX:
        errors.add("title", "too_long", f"标题不能超过{TITLE_MAX}个字", f"the title is longer than {TITLE_MAX} characters")
    return text, heading


def _check_point(errors: ErrorCollector, longitude: float | None, latitude: float | None) -> None:
    if (longitude is None) != (latitude is None):
        errors.add("latitude" if latitude is None else "longitude", "required", "经纬度需同时填写",
                   "give both longitude and latitude")
    if longitude is not None and not -180 <= longitude <= 180:
        errors.add("longitude", "out_of_range", "经度应在-180到180之间", "longitude must be between -180 and 180")
    if latitude is not None and not -90 <= latitude <= 90:
        errors.add("latitude", "out_of_range", "纬度应在-90到90之间", "latitude must be between -90 and 90")


def _check_channel(errors: ErrorCollector, actor: Actor, channel: str | None, for_self: bool) -> str:
    if for_self:
        if channel not in (None, Channel.APP):
            errors.add("channel", "residents_use_app", "居民本人提交的工单来源为手机应用", "a resident's own ticket comes from the app")
        return Channel.APP
    if channel not in STAFF_CHANNELS:
        errors.add("channel", "required", "代居民登记须注明来源（电话、留言板、来访等）",
                   "a ticket entered by staff needs its channel (phone, message board, walk-in ...)")
    return channel or ""


def _responsible(errors: ErrorCollector, kind: str, category: Category | None, place: Place) -> Organisation | None:
    if category is None:
        return None
    if not queries.categories_at(place).filter(pk=category.pk).exists():
        errors.add("category_id", "not_here", f"此地点不能使用类别“{category.name}”",
                   f"the category {category.name!r} is not available at this place")
        return None
    org_kind = responsible_kind(kind, category)
    organisation = queries.responsible_organisation(place, org_kind)
    if organisation is None:
        errors.add("category_id", "no_organisation",
                   f"此地点没有负责“{category.name}”的{OrganisationKind(org_kind).label}",
                   f"no {org_kind.replace('_', ' ')} handles {category.name_en or category.code} at this place")
    return organisation


def clean_uploads(uploads: Sequence[Upload], already: int = 0, field: str = "photos") -> list[CleanPhoto]:
    """Every upload checked and cleaned; one ValidationFailed naming each refused file."""
    errors: list[FieldError] = []
    if already + len(uploads) > MAX_PHOTOS:
        errors.append(FieldError(field, "too_many", f"每个阶段最多{MAX_PHOTOS}张照片",
                                 f"at most {MAX_PHOTOS} photos per stage"))
    cleaned = []
    for i, upload in enumerate(uploads):
        result = check_and_clean(upload.data, f"{field}[{i}]")
        if isinstance(result, FieldError):
            errors.append(FieldError(result.field, result.code, f"{upload.name[:60]}：{result.message_zh}",
                                     f"{upload.name[:60]}: {result.message_en}"))
        else:
            cleaned.append(result)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def submit_ticket(*, actor: Actor, kind: str, category: Category | None, place: Place, description: str,
                  title: str = "", channel: str | None = None, reporter: Resident | None = None,
                  reporter_name: str = "", longitude: float | None = None, latitude: float | None = None,
                  preferred_from: dt.datetime | None = None, preferred_until: dt.datetime | None = None,
                  photos: Sequence[Upload] = (), now: dt.datetime | None = None) -> Ticket:
    """A new ticket, submitted: deadlines from the category, the responsible organisation of the place, the event,
    the audit entry and the reporter's notification in one transaction. Bad input writes nothing."""
    now = now or timezone.now()
    # Staff of the place enter tickets for others; anybody else reports for themselves as a resident.
    for_self = not actor.can(Perm.TICKET_VIEW, place.path)
    errors = ErrorCollector()
    if kind not in TicketKind.values:
        errors.add("kind", "invalid_choice", "工单类型无效", f"unknown kind {kind!r}")
    if category is None:
        errors.add("category_id", "required", "请选择类别", "choose a category")
    if place.kind not in TICKET_PLACE_KINDS:
        errors.add("place_id", "wrong_kind", "请选择社区、小区、楼栋、单元或房屋", "choose a community, estate, building, entrance or dwelling")
    text, heading = _clean_text_fields(errors, description, title)
    _check_point(errors, longitude, latitude)
    if preferred_from and preferred_until and preferred_until < preferred_from:
        errors.add("preferred_until", "before_start", "期望上门结束时间早于开始时间", "the preferred visit ends before it starts")
    channel = _check_channel(errors, actor, channel, for_self)
    organisation = _responsible(errors, kind, category, place) if kind in TicketKind.values else None
    cleaned = clean_uploads(photos) if photos else []
    errors.raise_if_any()
    if for_self:
        if actor.resident_id is None or not resident_may_report_at(actor, place) or (
                reporter is not None and reporter.pk != actor.resident_id):
            raise PermissionDenied(Perm.TICKET_SUBMIT)
        reporter = Resident.objects.get(pk=actor.resident_id)
    else:
        actor.require(Perm.TICKET_SUBMIT, place.path)
    assert category is not None and organisation is not None
    respond_by = now + dt.timedelta(minutes=category.response_minutes)
    resolve_by = now + dt.timedelta(hours=category.resolution_hours)
    remind = dt.timedelta(minutes=category.remind_before_minutes)
    saved: list[str] = []
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(
                kind=kind, category=category, place=place, place_path=place.path, title=heading, description=text,
                longitude=longitude, latitude=latitude, preferred_from=preferred_from, preferred_until=preferred_until,
                channel=channel, reporter=reporter, reporter_name=clean_text(reporter_name or "")[:60],
                created_by_id=getattr(actor.user, "pk", None), status=TicketStatus.SUBMITTED, organisation=organisation,
                respond_by=respond_by, resolve_by=resolve_by, respond_remind_at=max(now, respond_by - remind),
                resolve_remind_at=max(now, resolve_by - remind),
            )
            if ticket.created_at != now:
                Ticket.objects.filter(pk=ticket.pk).update(created_at=now, updated_at=now)
                ticket.created_at = ticket.updated_at = now
            event(ticket, actor, EventKind.TRANSITION, action="submit", to_status=TicketStatus.SUBMITTED, at=now,
                  data={"channel": channel})
            _store_photos(actor, ticket, PhotoStage.REPORT, cleaned, now, saved)
            audit.record(actor, "ticket.submit", target=ticket, target_label=f"{ticket.number} {heading}"[:200],
                         after={"kind": kind, "category": category.code, "place": place.pk, "channel": channel,
                                "organisation": organisation.pk, "reporter": getattr(reporter, "pk", None),
                                "respond_by": respond_by, "resolve_by": resolve_by, "photos": len(cleaned)})
            notify_status(actor, ticket)
    except BaseException:
        _discard(saved)
        raise
    return ticket


def _store_photos(actor: Actor, ticket: Ticket, stage: str, cleaned: Sequence[CleanPhoto], now: dt.datetime,
                  saved: list[str]) -> list[TicketPhoto]:
    rows = []
    for photo in cleaned:
        stem = f"tickets/{ticket.pk}/{stage}-{uuid.uuid4().hex}"
        name = default_storage.save(f"{stem}.jpg", ContentFile(photo.image))
        saved.append(name)
        thumb = default_storage.save(f"{stem}.thumb.jpg", ContentFile(photo.thumbnail))
        saved.append(thumb)
        rows.append(TicketPhoto(ticket=ticket, stage=stage, file=name, thumbnail=thumb, width=photo.width,
                                height=photo.height, size=len(photo.image), sha256=photo.sha256,
                                uploaded_by_id=getattr(actor.user, "pk", None), created_at=now))
    return TicketPhoto.objects.bulk_create(rows)


def _discard(names: list[str]) -> None:
    """Files written for a transaction that rolled back are removed again."""
    for name in names:
        default_storage.delete(name)


PHOTO_RULES = {
    # stage: (statuses in which photos may be added, who may add them)
    PhotoStage.REPORT: (OPEN, {Party.REPORTER, Party.HANDLER}),
    PhotoStage.RESOLVE: (frozenset({TicketStatus.IN_PROGRESS, TicketStatus.PAUSED}), {Party.ASSIGNEE, Party.HANDLER}),
}


def photo_stages(actor: Actor, ticket: Ticket) -> list[str]:
    """The stages the actor may add photos to now (the pages' upload form offers these)."""
    mine = parties_of(actor, ticket)
    return [stage for stage, (statuses, parties) in PHOTO_RULES.items() if ticket.status in statuses and mine & parties]


def add_photos(*, actor: Actor, ticket: Ticket, stage: str, photos: Sequence[Upload],
               now: dt.datetime | None = None) -> list[TicketPhoto]:
    """Photos of the report (while the ticket is open) or of the result (while it is being worked on): at most
    nine per stage, each checked and re-encoded. Bad input writes nothing."""
    now = now or timezone.now()
    if stage not in PHOTO_RULES:
        raise ValidationFailed(FieldError("stage", "invalid_choice", "照片阶段无效", f"unknown stage {stage!r}"))
    if not photos:
        raise ValidationFailed(FieldError("photos", "required", "请选择照片", "choose at least one photo"))
    statuses, parties = PHOTO_RULES[stage]
    if not parties_of(actor, ticket) & parties:
        raise PermissionDenied("ticket.photo")
    if ticket.status not in statuses:
        raise Conflict(f"工单当前状态为“{status_zh(ticket.status)}”，不能上传{PhotoStage(stage).label}",
                       f"the ticket is {ticket.status}: {stage} photos cannot be added now", code="illegal_photo_stage")
    existing = TicketPhoto.objects.filter(ticket=ticket, stage=stage).count()
    cleaned = clean_uploads(photos, already=existing)
    saved: list[str] = []
    try:
        with transaction.atomic():
            rows = record_photos(actor, ticket, stage, cleaned, now, saved)
    except BaseException:
        _discard(saved)
        raise
    return rows


def record_photos(actor: Actor, ticket: Ticket, stage: str, cleaned: Sequence[CleanPhoto], now: dt.datetime,
                  saved: list[str]) -> list[TicketPhoto]:
    """Store checked photos with their event and audit entry, inside the caller's transaction; the names of the
    files written are appended to ``saved`` so that the caller removes them if the transaction rolls back."""
    rows = _store_photos(actor, ticket, stage, cleaned, now, saved)
    event(ticket, actor, EventKind.PHOTO, action="photo", at=now, data={"stage": stage, "count": len(rows)})
    audit.record(actor, "ticket.photo", target=ticket, target_label=ticket.number,
                 after={"stage": stage, "photos": [r.sha256[:16] for r in rows]})
    return rows


def discard_files(names: list[str]) -> None:
    _discard(names)
