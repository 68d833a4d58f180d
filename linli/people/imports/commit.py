"""Writing validated rows: residents, their occupancies and tags, and the places they need, in bulk.

A chunk of staged rows costs a fixed number of queries whatever its size: one to find the people already
registered (by ID-number hash), a few to create missing buildings, entrances and dwellings, then bulk inserts
and bulk updates. Import adds and never removes: blank cells keep what is stored, occupancies and tags are
added when missing. A person whose stored values already match is counted unchanged and leaves no trace.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.identity import mask_id_number, mask_phone
from linli.core.models import AuditEntry
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind

from ..actions import _apply_sensitive, _snapshot
from ..choices import Relation, Sex
from ..models import CareTag, ImportJob, ImportRowError, Occupancy, Resident, ResidentTag
from .bulk import Inserter, reserve_ids
from .locations import Address, Node, PlaceResolver
from .staged import StagedRow
from .validate import RowIssue, estate_gone_issue, outside_scope_issue

CHUNK_ROWS = 1000
BATCH = 500
_EXISTING_FIELDS = ("id", "id_hash", "place_id", "place_path", "place__kind", "name", "sex", "birth_date",
                    "ethnicity", "notes", "status", "has_smartphone", "phone_hash", "phone_mask", "id_mask")


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[RowIssue] = field(default_factory=list)


def address(r: StagedRow) -> Address:
    return (r.estate_id, r.building, r.entrance, r.dwelling)


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def row_errors(job: ImportJob, issues: list[RowIssue]) -> list[ImportRowError]:
    return [ImportRowError(job=job, row=i.row, column=i.column, code=i.code, message_zh=i.message_zh,
                           message_en=i.message_en, value=i.value) for i in issues]


class Committer:
    """Commits the staged rows of one job, chunk by chunk, as ``actor``."""

    def __init__(self, job: ImportJob, actor: Actor):
        self.job = job
        self.actor = actor
        self.source = f"import:{job.pk}"
        self.places = PlaceResolver(job.place, self.source)
        self.tag_codes = dict(CareTag.objects.values_list("pk", "code"))
        self.today = timezone.localdate()

    def commit_chunk(self, rows: list[StagedRow]) -> ChunkResult:
        result = ChunkResult()
        # An estate merged or retired since validation takes no new buildings: its rows are rejected.
        result.issues.extend(estate_gone_issue(r) for r in rows if r.estate_id not in self.places.estates)
        rows = [r for r in rows if r.estate_id in self.places.estates]
        dwellings = self.places.dwellings({address(r) for r in rows})
        existing = {
            r.id_hash: r for r in Resident.objects.filter(id_hash__in=[r.id_hash for r in rows])
            .select_related("place").only(*_EXISTING_FIELDS)
        }
        new_rows: list[StagedRow] = []
        known_rows: list[tuple[StagedRow, Resident]] = []
        for r in rows:
            person = existing.get(r.id_hash)
            if person is None:
                new_rows.append(r)
            elif not self.actor.can(Perm.RESIDENT_IMPORT, person.place_path):  # moved out of scope since validation
                result.issues.append(outside_scope_issue(r))
            else:
                known_rows.append((r, person))
        occupancies: list[dict[str, object]] = []
        tags: list[dict[str, object]] = []
        self._create(new_rows, dwellings, occupancies, tags)
        result.created = len(new_rows)
        self._update(known_rows, dwellings, occupancies, tags, result)
        Inserter(Occupancy).insert(occupancies)
        Inserter(ResidentTag).insert(tags)
        return result

    def _create(self, rows: list[StagedRow], dwellings: dict[Address, Node], occupancies: list[dict[str, object]],
                tags: list[dict[str, object]]) -> None:
        if not rows:
            return
        ids = reserve_ids(Resident, len(rows))
        Inserter(Resident, explicit_ids=True).insert(
            self._new_person(pk, r, dwellings[address(r)]) for pk, r in zip(ids, rows, strict=True))
        for pk, r in zip(ids, rows, strict=True):
            occupancies.append(self._occupancy(pk, dwellings[address(r)], r))
            tags.extend(self._tag(pk, tag_id, grade) for tag_id, grade in r.tags)

    def _new_person(self, pk: int, r: StagedRow, home: Node) -> dict[str, object]:
        return {
            "id": pk, "place_id": home.pk, "place_path": home.path, "source": self.source, "name": r.name,
            "sex": r.sex or Sex.UNKNOWN, "birth_date": _date(r.birth_date), "ethnicity": r.ethnicity, "notes": r.notes,
            "id_number": r.id_number, "id_hash": r.id_hash, "id_mask": mask_id_number(r.id_number),
            "phone": r.phone, "phone_hash": r.phone_hash or None, "phone_mask": mask_phone(r.phone),
        }

    def _occupancy(self, resident_id: int, home: Node, r: StagedRow) -> dict[str, object]:
        return {"resident_id": resident_id, "place_id": home.pk, "place_path": home.path, "relation": r.relation,
                "since": _date(r.since)}

    def _tag(self, resident_id: int, tag_id: int | None, grade: int | None) -> dict[str, object]:
        return {"resident_id": resident_id, "tag_id": tag_id, "grade": grade, "since": self.today}

    def _update(self, rows: list[tuple[StagedRow, Resident]], dwellings: dict[Address, Node],
                occupancies: list[dict[str, object]], tags: list[dict[str, object]], result: ChunkResult) -> None:
        if not rows:
            return
        ids = [person.pk for _, person in rows]
        open_occupancies = set(Occupancy.objects.filter(resident_id__in=ids, until__isnull=True)
                               .values_list("resident_id", "place_id", "relation"))
        open_tags = {(t.resident_id, t.tag_id): t for t in
                     ResidentTag.objects.filter(resident_id__in=ids, until__isnull=True).only("id", "resident_id", "tag_id", "grade")}
        changed_people: dict[tuple[str, ...], list[Resident]] = defaultdict(list)
        regraded: list[ResidentTag] = []
        entries: list[AuditEntry] = []
        for r, person in rows:
            home = dwellings[address(r)]
            before = _snapshot(person)
            fields = self._apply_changes(person, r, home)
            extra: dict[str, object] = {}
            if (person.pk, home.pk, r.relation) not in open_occupancies:
                occupancies.append(self._occupancy(person.pk, home, r))
                extra["occupancy_added"] = {"dwelling": home.pk, "relation": r.relation}
            added, regrades = self._tag_changes(person.pk, r, open_tags)
            tags.extend(self._tag(person.pk, tag_id, grade) for tag_id, grade in added)
            regraded.extend(regrades)
            if added or regrades:
                extra["tags_added"] = sorted(self.tag_codes[tag_id] + (f":{grade}" if grade else "")
                                             for tag_id, grade in added + [(t.tag_id, t.grade) for t in regrades])
            if not fields and not extra:
                result.unchanged += 1
                continue
            result.updated += 1
            if fields:
                changed_people[fields].append(person)
            b, a = audit.diff(before, _snapshot(person))
            entries.append(audit.build(self.actor, "resident.import_update", target=person, before=b,
                                       after={**a, **extra, "job": self.job.pk}))
        for fields, people in changed_people.items():
            Resident.objects.bulk_update(people, list(fields), batch_size=BATCH)
        ResidentTag.objects.bulk_update(regraded, ["grade"], batch_size=BATCH)
        AuditEntry.objects.bulk_create(entries, batch_size=BATCH)

    def _apply_changes(self, person: Resident, r: StagedRow, home: Node) -> tuple[str, ...]:
        """Set what the row changes on ``person``; returns the changed model fields. Blank cells keep values."""
        wanted: dict[str, object] = {"name": r.name, "sex": r.sex or person.sex, "birth_date": _date(r.birth_date) or person.birth_date}
        if r.ethnicity:
            wanted["ethnicity"] = r.ethnicity
        if r.notes:
            wanted["notes"] = r.notes
        changed = [k for k, value in wanted.items() if getattr(person, k) != value]
        for k in changed:
            setattr(person, k, wanted[k])
        if r.phone and r.phone_hash != person.phone_hash:
            _apply_sensitive(person, {"phone": r.phone})
            changed += ["phone", "phone_hash", "phone_mask"]
        # A resident registered provisionally (community, estate or building) gets a home, as add_occupancy does.
        if person.place.kind != PlaceKind.DWELLING and r.relation != Relation.OWNER:
            person.place_id, person.place_path = home.pk, home.path
            changed += ["place", "place_path"]
        return tuple(changed)

    def _tag_changes(self, resident_id: int, r: StagedRow, open_tags: dict[tuple[int, int], ResidentTag]
                     ) -> tuple[list[tuple[int, int | None]], list[ResidentTag]]:
        added: list[tuple[int, int | None]] = []
        regrades: list[ResidentTag] = []
        for tag_id, grade in r.tags:
            current = open_tags.get((resident_id, tag_id))
            if current is None:
                added.append((tag_id, grade))
            elif grade is not None and current.grade != grade:
                current.grade = grade
                regrades.append(current)
        return added, regrades
