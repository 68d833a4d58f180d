"""Load the deterministic demo: 咸安区 with 3 communities, 祥和苑 merged from 5 estates, ~2,000 households,
~5,000 residents, facilities, grids and one account per role (password ``linli2026``).

The upper tree, the merge, facilities, grids, role assignments and building heads go through the real actions
(audited one by one); buildings, entrances, dwellings, residents and what hangs from them are bulk-inserted
(residents' ID numbers and phones are encrypted by EncryptedTextField on insert, hashes and masks set by
``linli.people.actions._apply_sensitive``), and one ``demo.seed`` audit entry records the counts.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from linli.accounts.actions import assign_role
from linli.accounts.models import Profile
from linli.core import audit
from linli.core.actor import Actor
from linli.core.identity import mask_phone
from linli.core.models import AuditEntry
from linli.core.permissions import Role
from linli.people.actions import _apply_sensitive
from linli.people.models import CareTag, EmergencyContact, Occupancy, Resident, ResidentTag
from linli.places.actions import (
    create_facility,
    create_place,
    merge_estates,
    refresh_dwelling_counts,
    save_grid,
    update_place,
)
from linli.places.models import Place
from linli.places.paths import natural_key

from . import names
from .digest import registry_digest
from .facilities import FACILITIES
from .layout import DISTRICT, MERGED_ESTATE, STREETS, hull_box, move, polygon_centre
from .plan import EstatePlan, merged_sources, plan_demo
from .population import Person

DEFAULT_SEED = 20261121
DEFAULT_HOUSEHOLDS = 2000
DEMO_PASSWORD = "linli2026"
PROPERTY_COMPANY = "咸宁祥和物业服务有限公司"
GRID_SIZE = 4  # buildings per grid

# username, role, where (a community or estate name; "" for the resident's dwelling or a global role), label
ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("resident", Role.RESIDENT, "", "居民（祥和苑）"),
    ("grid", Role.GRID_WORKER, "梅园社区", "网格员（梅园社区）"),
    ("property", Role.PROPERTY_STAFF, MERGED_ESTATE, "物业人员（祥和苑）"),
    ("committee", Role.OWNERS_COMMITTEE, MERGED_ESTATE, "业委会（祥和苑）"),
    ("community", Role.COMMUNITY_STAFF, "梅园社区", "社区工作人员（梅园社区）"),
    ("community2", Role.COMMUNITY_STAFF, "桂花社区", "社区工作人员（桂花社区）"),
    ("street", Role.STREET_ADMIN, "浮山街道", "街道管理员（浮山街道）"),
    ("district", Role.DISTRICT_ADMIN, "咸安区", "区管理员（咸安区）"),
    ("admin", Role.SYSTEM_ADMIN, "", "系统管理员"),
)


@dataclass
class SeedReport:
    status: str  # created, present (nothing to do) or refused (the database holds other data in the way)
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    digest: str = ""
    seconds: float = 0.0

    @property
    def created(self) -> bool:
        return self.status == "created"


def _blocker() -> SeedReport | None:
    if AuditEntry.objects.filter(action="demo.seed").exists():
        return SeedReport("present", "演示数据已存在，无需重复导入 / demo data already present: nothing to do")
    if Place.objects.filter(kind="district", name=DISTRICT[0], status="active").exists():
        return SeedReport("refused", f"已有名为“{DISTRICT[0]}”的区，未导入演示数据 / a district named {DISTRICT[0]} "
                                     "already exists: demo data not loaded")
    taken = sorted(get_user_model().objects.filter(username__in=[a[0] for a in ACCOUNTS]).values_list("username", flat=True))
    if taken:
        return SeedReport("refused", f"账号已存在：{', '.join(taken)}，未导入演示数据 / accounts {', '.join(taken)} "
                                     "already exist: demo data not loaded")
    return None


def seed_demo(*, households: int = DEFAULT_HOUSEHOLDS, seed: int = DEFAULT_SEED) -> SeedReport:
    """Load the demo into this database unless it is there already (then nothing is written)."""
    blocked = _blocker()
    if blocked is not None:
        return blocked
    started = time.perf_counter()
    with transaction.atomic():
        seeder = _Seeder(random.Random(seed), households)
        seeder.run()
        report = SeedReport("created", "", counts=seeder.counts, digest=registry_digest())
        audit.record(seeder.actor, "demo.seed", target_type="demo", target_id=str(seed), target_label="演示数据",
                     place_path=seeder.district.path,
                     after={"seed": seed, "requested_households": households, **report.counts, "digest": report.digest})
    report.seconds = round(time.perf_counter() - started, 2)
    report.message = (f"演示数据已导入 / demo data loaded: {report.counts['households']} households, "
                      f"{report.counts['residents']} residents in {report.seconds} s")
    return report


class _Seeder:
    def __init__(self, rng: random.Random, households: int):
        self.rng = rng
        self.actor = Actor.system("演示数据 demo seed")
        self.estates: list[EstatePlan] = plan_demo(rng, households)
        self.places: dict[str, Place] = {}  # by name: the district, streets, communities and estates
        self.records: dict[int, Resident] = {}  # id(Person) -> its row
        self.workers: dict[str, Any] = {}  # grid workers by username
        self.counts: dict[str, int] = {}
        self.district: Place

    def run(self) -> None:
        self._upper_tree()
        self._buildings()
        self._residents()
        self._merge()
        self._building_heads()
        self._facilities()
        users = self._accounts()
        self._grids(users)
        refresh_dwelling_counts(actor=self.actor, place=self.district)
        for kind, label in (("street", "streets"), ("community", "communities"), ("estate", "estates"),
                            ("building", "buildings"), ("entrance", "entrances"), ("dwelling", "dwellings")):
            self.counts[label] = Place.objects.filter(kind=kind, status="active", path__startswith=self.district.path).count()
        self.counts["accounts"] = len(ACCOUNTS)
        self.counts["grid_workers"] = len(self.workers) + 1

    # ------------------------------------------------------------ places

    def _upper_tree(self) -> None:
        name, code, centre = DISTRICT
        self.district = create_place(actor=self.actor, kind="district", parent=None, name=name, code=code,
                                     longitude=centre[0], latitude=centre[1], address="湖北省咸宁市咸安区")
        self.places[name] = self.district
        for street in STREETS:
            s = create_place(actor=self.actor, kind="street", parent=self.district, name=street.name, code=street.code,
                             longitude=street.centre[0], latitude=street.centre[1])
            self.places[street.name] = s
            for community in street.communities:
                self.places[community.name] = create_place(
                    actor=self.actor, kind="community", parent=s, name=community.name, code=community.code,
                    longitude=community.centre[0], latitude=community.centre[1], attrs=dict(community.attrs))
        for e in self.estates:
            spec = e.spec
            e.place = create_place(
                actor=self.actor, kind="estate", parent=self.places[e.community.name], name=spec.name,
                year_built=spec.year_built, floors=spec.floors, longitude=e.geometry.centre[0],
                latitude=e.geometry.centre[1], boundary=e.geometry.boundary, address=spec.address,
                area_m2=e.geometry.area_m2, attrs={"property_company": PROPERTY_COMPANY} if spec.year_built < 1998 else {})
            self.places[spec.name] = e.place

    def _bulk_places(self, rows: list[tuple[Any, Place, dict[str, Any]]], kind: str) -> None:
        """Insert one level of the tree: (plan, parent, fields) -> Place, paths set from the new ids."""
        objs = [Place(kind=kind, parent=parent, depth=parent.depth + 1, path=f"/seed-{kind}-{i}/",
                      sort_key=natural_key(f["name"]), **f) for i, (_, parent, f) in enumerate(rows)]
        Place.objects.bulk_create(objs, batch_size=500)
        for (plan, parent, _), obj in zip(rows, objs, strict=True):
            obj.path = f"{parent.path}{obj.pk}/"
            plan.place = obj
        Place.objects.bulk_update(objs, ["path"], batch_size=500)

    def _buildings(self) -> None:
        self._bulk_places([(b, e.place, {"name": b.name, "floors": b.floors, "year_built": e.spec.year_built,
                                         "longitude": b.location[0], "latitude": b.location[1]})
                           for e in self.estates for b in e.buildings], "building")
        self._bulk_places([(en, b.place, {"name": en.name, "longitude": en.location[0], "latitude": en.location[1]})
                           for e in self.estates for b in e.buildings for en in b.entrances], "entrance")
        self._bulk_places([(d, en.place, {"name": d.name, "area_m2": d.area_m2, "attrs": d.attrs})
                           for e in self.estates for b in e.buildings for en in b.entrances for d in en.dwellings],
                          "dwelling")

    # ------------------------------------------------------------ people

    def _resident(self, p: Person, dwelling: Place) -> Resident:
        r = Resident(place=dwelling, place_path=dwelling.path, name=p.name, sex=p.sex, birth_date=p.birth,
                     ethnicity=p.ethnicity, has_smartphone=p.has_smartphone, source="demo",
                     notes=f"与户主关系：{p.kin}" if p.kin != "户主" else "")
        _apply_sensitive(r, {"id_number": p.id_number, "phone": p.phone})
        self.records[id(p)] = r
        return r

    def _residents(self) -> None:
        placed = [(p, d.place) for e in self.estates for _, _, d in e.dwellings() if d.household
                  for p in d.household.members]
        Resident.objects.bulk_create([self._resident(p, place) for p, place in placed], batch_size=500)
        occupancies = [Occupancy(resident=self.records[id(p)], place=place, place_path=place.path, relation=p.relation,
                                 since=p.since) for p, place in placed]
        tag_ids = dict(CareTag.objects.values_list("code", "pk"))
        tags = [ResidentTag(resident=self.records[id(p)], tag_id=tag_ids[code], grade=grade, since=since)
                for p, _ in placed for code, grade, since in p.tags]
        contacts = []
        households = [(h, d.place) for e in self.estates for _, _, d in e.dwellings() if (h := d.household)]
        for h, place in households:
            if h.absentee_owner is not None:
                occupancies.append(Occupancy(resident=self.records[id(h.absentee_owner)], place=place,
                                             place_path=place.path, relation="owner", since=h.head.since,
                                             note="业主不在此居住（出租）"))
            for priority, c in enumerate(h.contacts, start=1):
                linked = self.records[id(c.neighbour)] if c.neighbour is not None else None
                name = c.neighbour.name if c.neighbour is not None else c.name
                phone = c.neighbour.phone if c.neighbour is not None else c.phone
                contacts.append(EmergencyContact(resident=self.records[id(h.head)], name=name, relation=c.relation,
                                                 phone=phone, phone_mask=mask_phone(phone), contact_resident=linked,
                                                 priority=priority))
        Occupancy.objects.bulk_create(occupancies, batch_size=500)
        ResidentTag.objects.bulk_create(tags, batch_size=500)
        EmergencyContact.objects.bulk_create(contacts, batch_size=500)
        self.counts.update(households=len(households), residents=len(placed), occupancies=len(occupancies),
                           care_tags=len(tags), emergency_contacts=len(contacts))

    # ------------------------------------------------------------ 拆墙并院 and what follows it

    def _merge(self) -> None:
        sources = merged_sources(self.estates)
        name, _, note = sources[0].community.merge  # type: ignore[misc]
        target = merge_estates(actor=self.actor, estates=[e.place for e in sources], into_name=name, note=note)
        boundary = hull_box([e.geometry.boundary for e in sources])
        centre = polygon_centre(boundary)
        households = sum(len(e.households()) for e in sources)
        party = sum(1 for e in sources for h in e.households() if h.party_household)
        self.places[name] = update_place(
            actor=self.actor, place=target, boundary=boundary, longitude=centre[0], latitude=centre[1],
            address="咸安区浮山街道青龙路8号", floors=max(e.spec.floors for e in sources),
            attrs={**target.attrs, "property_company": PROPERTY_COMPANY, "walls_removed": 11, "party_groups": 5,
                   "party_member_households": party, "access_gates": 2, "cameras": 24, "guards_and_cleaners": 8,
                   "renewal": {"households_contributed": round(households * 0.73), "contributions_yuan": 47400,
                               "pipes_renewed_m": 4000}})
        self.counts["merged_estates"] = len(sources)

    def _building_heads(self) -> None:
        for e in self.estates:
            for b in e.buildings:
                if b.head is not None:
                    building = Place.objects.get(pk=b.place.pk)
                    update_place(actor=self.actor, place=building,
                                 attrs={**building.attrs, "building_head_resident_id": self.records[id(b.head)].pk})

    def _centre_of(self, owner: str, community: str) -> tuple[Place, tuple[float, float]]:
        place = self.places[community] if owner == "community" else self.places[owner]
        return place, (place.longitude, place.latitude)

    def _facilities(self) -> None:
        count = 0
        for community, specs in FACILITIES.items():
            for spec in specs:
                place, centre = self._centre_of(spec.owner, community)
                lng, lat = move(centre, spec.east_m, spec.north_m)
                create_facility(actor=self.actor, place=place, kind=spec.kind, name=spec.name, longitude=lng,
                                latitude=lat, **spec.extra)
                count += 1
        self.counts["facilities"] = count

    # ------------------------------------------------------------ people who work here

    def _accounts(self) -> dict[str, Any]:
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)
        resident = self._demo_resident()
        users: dict[str, Any] = {}
        for username, role, where, label in ACCOUNTS:
            person = names.full_name(self.rng, self.rng.choice("MF"), 1980 + self.rng.randrange(15))
            user = User.objects.create(username=username, password=password, first_name=person,
                                       is_staff=role == Role.SYSTEM_ADMIN, is_superuser=role == Role.SYSTEM_ADMIN)
            place = resident.place if role == Role.RESIDENT else self.places.get(where)
            assign_role(actor=self.actor, user=user, role=role, place=place)
            Profile.objects.create(user=user, resident=resident if role == Role.RESIDENT else None,
                                   display_name=f"{label} {person}" if role != Role.RESIDENT else resident.name)
            users[username] = user
        return users

    def _demo_resident(self) -> Resident:
        """The demo resident: the head of the first owner household of 祥和苑 aged 35-65 with a smartphone."""
        for e in merged_sources(self.estates):
            for _, _, d in e.dwellings():
                h = d.household
                if h is not None and not h.tenants and 35 <= h.head.age <= 65 and h.head.has_smartphone:
                    return Resident.objects.select_related("place").get(pk=self.records[id(h.head)].pk)
        raise RuntimeError("the demo plan has no owner household in 祥和苑")

    def _grids(self, users: dict[str, Any]) -> None:
        """Grids of about four buildings in estate order (祥和苑 first); a worker looks after two grids."""
        count = 0
        for community_spec in [c for s in STREETS for c in s.communities]:
            community = self.places[community_spec.name]
            merged = community_spec.merge
            estate_names = ([merged[0]] if merged else []) + [
                e.name for e in community_spec.estates if not merged or e.name not in merged[1]]
            buildings = [pk for name in estate_names for pk in Place.objects.filter(
                parent=self.places[name], kind="building", status="active").order_by("pk").values_list("pk", flat=True)]
            chunks = [buildings[i:i + GRID_SIZE] for i in range(0, len(buildings), GRID_SIZE)]
            if len(chunks) > 1 and len(chunks[-1]) < 2:
                chunks[-2].extend(chunks.pop())
            short = community_spec.name.removesuffix("社区")
            for n, chunk in enumerate(chunks, start=1):
                worker = users["grid"] if community_spec.name == "梅园社区" and n <= 2 else self._grid_worker(
                    community, (n + 1) // 2)
                save_grid(actor=self.actor, community=community, name=f"{short}第{n}网格",
                          code=f"{community.code}-G{n:02d}", building_ids=chunk, worker_ids=[worker.pk])
                count += 1
        self.counts["grids"] = count

    def _grid_worker(self, community: Place, number: int) -> Any:
        """Grid workers other than the demo account: real role assignments, no password (they cannot log in)."""
        username = f"gw{community.code}-{number:02d}"
        if username not in self.workers:
            user = get_user_model()(username=username,
                                    first_name=names.full_name(self.rng, self.rng.choice("MF"), 1985))
            user.set_unusable_password()
            user.save()
            assign_role(actor=self.actor, user=user, role=Role.GRID_WORKER, place=community)
            self.workers[username] = user
        return self.workers[username]
