"""Demo tickets: a realistic three months of requests in the demo communities, made through the real actions.

``seed_tickets(seed=...)`` runs after the place and resident demo (linli.demo.seed_demo). It sets up who handles
tickets (a committee per community, the 祥和苑 property company and a property service centre per community,
with two property staff each where the demo has none) and then files a few hundred tickets over the last 90
days: residents' own reports from the demo resident account, the rest entered by staff for residents who
phoned, walked in, wrote on the message board or called the hotline, and grid patrol finds. Each ticket walks
through the actions at plausible times (accept, dispatch, start, sometimes a pause, resolve, the resident's
confirmation, a rating; a few are rejected, withdrawn or reopened); the most recent ones are still open. A last
deadline sweep flags what is overdue now. Deterministic for a given seed and database.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from linli.accounts.actions import assign_role
from linli.accounts.models import Profile, RoleAssignment
from linli.core.actor import Actor
from linli.core.errors import DomainError
from linli.core.permissions import ROLE_PERMISSIONS, Perm, Role
from linli.people.models import Resident
from linli.places.models import Place

from . import actions, queries
from .choices import OrganisationKind, TicketKind
from .models import Category, Ticket

DEFAULT_SEED = 20261121
TICKETS_PER_COMMUNITY = 110
DAYS = 90
XIANGHE_COMPANY = "咸宁祥和物业服务有限公司"
# kind -> (weight, categories it is filed under)
KINDS: dict[str, tuple[int, tuple[str, ...]]] = {
    TicketKind.REPAIR: (60, ("water-power", "public-facilities", "sanitation", "greenery", "parking", "safety-hazard")),
    TicketKind.COMPLAINT: (15, ("noise", "property-service", "parking", "sanitation")),
    TicketKind.CONSULTATION: (10, ("other", "property-service")),
    TicketKind.SUGGESTION: (10, ("greenery", "public-facilities", "other")),
    TicketKind.PRAISE: (5, ("property-service", "other")),
}
TEXTS: dict[str, tuple[str, ...]] = {
    "water-power": ("厨房水管漏水，楼下天花板渗水", "楼道声控灯不亮", "家里突然停电，电表箱跳闸", "卫生间下水堵塞"),
    "public-facilities": ("单元门禁坏了关不上", "健身器材螺丝松动有危险", "楼道扶手松动", "小区路灯不亮"),
    "sanitation": ("垃圾桶满溢无人清运", "楼道堆放杂物有异味", "化粪池外溢"),
    "greenery": ("树枝遮挡窗户影响采光", "草坪被踩秃建议补种", "绿化带有枯树存在隐患"),
    "parking": ("消防通道被私家车占用", "电动车在楼道充电", "车位被长期占用"),
    "safety-hazard": ("外墙瓷砖松动可能脱落", "楼顶防护栏锈断", "燃气管道有异味"),
    "noise": ("楼上夜间装修噪音", "广场舞音响过大", "夜间施工扰民"),
    "property-service": ("物业费收支不公开", "保安夜间不在岗", "保洁不及时", "物业维修师傅服务很好，表示感谢"),
    "other": ("咨询老年证办理流程", "咨询电动车充电桩安装", "建议增设快递柜"),
}
STAFF_CHANNELS = (("phone", 35), ("walk_in", 20), ("message_board", 15), ("hotline", 15), ("grid_patrol", 15))
SCORES = ((5, 55), (4, 30), (3, 10), (2, 3), (1, 2))


@dataclass
class Desk:
    community: Place
    dispatcher: Actor  # accepts and dispatches (community staff, else the street)
    patrol: Actor | None  # a grid worker of the community
    residents: list[Resident]
    estates: list[Place]

    @cached_property
    def resident_ids(self) -> dict[int, Resident]:
        return {r.pk: r for r in self.residents}


@dataclass
class TicketReport:
    counts: Counter = field(default_factory=Counter)

    @property
    def message(self) -> str:
        return f"演示工单已生成 / demo tickets: {dict(sorted(self.counts.items()))}"


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _actor_with(role: str, place: Place) -> Actor | None:
    """A user holding ``role`` at ``place`` or above it (the nearest first)."""
    row = (RoleAssignment.objects.filter(role=role, active=True, place_path__in=queries.path_prefixes(place.path))
           .select_related("user").order_by("-place__depth", "id").first())
    return Actor.for_user(row.user) if row else None


def _property_staff(system: Actor, community: Place) -> list[Any]:
    """Two property staff over the community; made (with no usable password) when the demo has none."""
    User = get_user_model()
    staff = []
    for n in (1, 2):
        user, created = User.objects.get_or_create(username=f"wy{community.code or community.pk}-{n}",
                                                   defaults={"first_name": f"{community.name}物业{n}号"})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            Profile.objects.create(user=user, display_name=f"物业维修员（{community.name}）")
            assign_role(actor=system, user=user, role=Role.PROPERTY_STAFF, place=community)
        staff.append(user)
    return staff


def _organisations(system: Actor, community: Place) -> None:
    """A committee, a property service centre over the community, and a company for each estate that has its
    own property staff in the demo (祥和苑); members are the handlers assigned there."""
    handlers = [a for a in RoleAssignment.objects.filter(active=True).select_related("place", "user")
                if Perm.TICKET_HANDLE in ROLE_PERMISSIONS.get(a.role, ()) and a.place_path.startswith(community.path)]
    committee = queries.responsible_organisation(community, OrganisationKind.COMMUNITY_COMMITTEE) or \
        actions.create_organisation(actor=system, kind="community_committee", name=f"{community.name}居委会",
                                    place=community)
    centre = actions.create_organisation(actor=system, kind="property_company", name=f"{community.name}物业服务中心",
                                         place=community)
    for user in _property_staff(system, community):
        assignment = RoleAssignment.objects.get(user=user, role=Role.PROPERTY_STAFF, place=community, active=True)
        actions.add_member(actor=system, organisation=centre, assignment=assignment)
    for a in handlers:
        if a.role in (Role.COMMUNITY_STAFF, Role.GRID_WORKER):
            actions.add_member(actor=system, organisation=committee, assignment=a)
        elif a.role == Role.PROPERTY_STAFF and a.place.kind == "estate":
            name = XIANGHE_COMPANY if a.place.name == "祥和苑" else f"{a.place.name}物业"
            company = queries.responsible_organisation(a.place, OrganisationKind.PROPERTY_COMPANY)
            if company is None or company.place_id != a.place_id:
                company = actions.create_organisation(actor=system, kind="property_company", name=name, place=a.place)
            actions.add_member(actor=system, organisation=company, assignment=a)


def _app_users(system: Actor, rng: random.Random, community: Place, residents: list[Resident]) -> dict[int, Actor]:
    """Residents who use the app (an account of their own, no usable password): about one in fifty with a
    smartphone, at least a handful per community, plus the demo resident account."""
    User = get_user_model()
    users: dict[int, Actor] = {}
    phones = [r for r in residents if r.has_smartphone]
    for resident in rng.sample(phones, min(len(phones), max(8, len(phones) // 50))):
        user, created = User.objects.get_or_create(username=f"r{resident.pk}", defaults={"first_name": resident.name})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            Profile.objects.create(user=user, resident=resident, display_name=resident.name)
            assign_role(actor=system, user=user, role=Role.RESIDENT, place=resident.place)
        users[resident.pk] = Actor.for_user(user)
    demo = User.objects.filter(username="resident", linli_profile__resident__place_path__startswith=community.path).first()
    if demo is not None:
        users[demo.linli_profile.resident_id] = Actor.for_user(demo)
    return users


def _desk(community: Place) -> Desk:
    dispatcher = _actor_with(Role.COMMUNITY_STAFF, community) or _actor_with(Role.STREET_ADMIN, community) \
        or Actor.system("演示数据 demo tickets")
    residents = list(Resident.objects.filter(place_path__startswith=community.path, status="active",
                                             place__kind="dwelling").select_related("place").order_by("pk"))
    estates = list(Place.objects.filter(parent=community, kind="estate", status="active").order_by("pk"))
    return Desk(community=community, dispatcher=dispatcher, patrol=_actor_with(Role.GRID_WORKER, community),
                residents=residents, estates=estates)


class _Story:
    """One ticket's life at plausible times; it stops where the time would pass the present."""

    def __init__(self, rng: random.Random, desk: Desk, app_users: dict[int, Actor], now: dt.datetime):
        self.rng, self.desk, self.app_users, self.now = rng, desk, app_users, now

    def _after(self, at: dt.datetime, low_min: float, high_min: float) -> dt.datetime | None:
        later = at + dt.timedelta(minutes=self.rng.uniform(low_min, high_min))
        return later if later < self.now else None

    def file(self, created: dt.datetime) -> Ticket:
        rng, desk = self.rng, self.desk
        kind = _pick(rng, tuple((k, w) for k, (w, _) in KINDS.items()))
        code = rng.choice(KINDS[kind][1])
        category = Category.objects.get(place_path="", code=code)
        text = rng.choice(TEXTS[code])
        resident = rng.choice(desk.residents)
        if self.app_users and rng.random() < 0.5:  # half the tickets come from residents' phones
            resident = desk.resident_ids[rng.choice(sorted(self.app_users))]
        public = rng.random() < 0.4
        place = resident.place.parent.parent if public else resident.place  # the building, or the home
        if resident.pk in self.app_users:
            return actions.submit_ticket(actor=self.app_users[resident.pk], kind=kind, category=category,
                                         place=place, description=text, now=created)
        channel = _pick(rng, STAFF_CHANNELS)
        if channel == "grid_patrol" and desk.patrol is not None:
            return actions.submit_ticket(actor=desk.patrol, kind=kind, category=category, place=place.parent,
                                         description=f"巡查发现：{text}", channel=channel, now=created)
        return actions.submit_ticket(actor=desk.dispatcher, kind=kind, category=category, place=place,
                                     description=text, channel="phone" if channel == "grid_patrol" else channel,
                                     reporter=resident, now=created)

    def live(self, ticket: Ticket) -> Ticket:
        rng, staff = self.rng, self.desk.dispatcher
        at = self._after(ticket.created_at, 3, rng.choice((20, 20, 20, 45, 150)))
        if at is None:
            return ticket
        if rng.random() < 0.05:
            return actions.reject_ticket(actor=staff, ticket=ticket, reason="经核实不属于受理范围", now=at)
        ticket = actions.accept_ticket(actor=staff, ticket=ticket, now=at)
        if ticket.status == "accepted":
            members = list(queries.on_duty_members(ticket.organisation))
            if not members:
                return ticket
            ticket = actions.assign_ticket(actor=staff, ticket=ticket, assignee_id=rng.choice(members).user_id, now=at)
        return self._work(ticket, at)

    def _work(self, ticket: Ticket, at: dt.datetime) -> Ticket:
        rng = self.rng
        worker = Actor.for_user(ticket.assignee)
        at = self._after(at, 10, 240)
        if at is None:
            return ticket
        ticket = actions.start_ticket(actor=worker, ticket=ticket, now=at)
        if rng.random() < 0.12:
            ticket = actions.pause_ticket(actor=worker, ticket=ticket, reason="等待配件到货", now=at)
            at = self._after(at, 60, 60 * 30)
            if at is None:
                return ticket
            ticket = actions.resume_ticket(actor=worker, ticket=ticket, now=at)
        budget = ticket.category.resolution_hours * 60
        at = self._after(at, 20, budget * (0.8 if rng.random() < 0.93 else 1.6))
        if at is None:
            return ticket
        ticket = actions.resolve_ticket(actor=worker, ticket=ticket, note="已处理完毕，现场已恢复", now=at)
        return self._feedback(ticket, at)

    def _feedback(self, ticket: Ticket, at: dt.datetime) -> Ticket:
        rng = self.rng
        reporter = self.app_users.get(ticket.reporter_id)
        if reporter is None:
            return ticket  # no account: closed by the deadline sweep after the auto-close days
        at = self._after(at, 30, 60 * 48)
        if at is None:
            return ticket
        if rng.random() < 0.08 and ticket.reopen_count == 0:
            ticket = actions.reopen_ticket(actor=reporter, ticket=ticket, reason="问题没有彻底解决", now=at)
            return self._work(ticket, at)  # the same assignee comes back
        ticket = actions.confirm_ticket(actor=reporter, ticket=ticket, now=at)
        if rng.random() < 0.8:
            score = _pick(rng, SCORES)
            actions.rate_ticket(actor=reporter, ticket=ticket, overall=score, speed=max(1, score - rng.choice((0, 0, 1))),
                                attitude=score, comment="" if score >= 4 else "处理速度有待提高", now=at)
        return ticket


def seed_tickets(*, seed: int = DEFAULT_SEED, per_community: int = TICKETS_PER_COMMUNITY,
                 now: dt.datetime | None = None) -> TicketReport:
    """Organisations and a few hundred tickets over the last 90 days in every community (see the module)."""
    now = now or timezone.now()
    rng = random.Random(seed)
    system = Actor.system("演示数据 demo tickets")
    report = TicketReport()
    for community in Place.objects.filter(kind="community", status="active").order_by("pk"):
        _organisations(system, community)
        desk = _desk(community)
        if not desk.residents:
            continue
        story = _Story(rng, desk, _app_users(system, rng, community, desk.residents), now)
        starts = sorted(now - dt.timedelta(minutes=rng.uniform(30, DAYS * 24 * 60)) for _ in range(per_community))
        for created in starts:
            try:
                ticket = story.live(story.file(created))
            except DomainError as exc:  # e.g. no organisation for a category at that place: counted, not hidden
                report.counts[f"refused:{exc.code}"] += 1
                continue
            report.counts[ticket.status] += 1
    swept = actions.sweep_deadlines(now=now, batch=100_000)
    report.counts.update({f"sweep:{k}": v for k, v in swept.items() if v})
    return report
