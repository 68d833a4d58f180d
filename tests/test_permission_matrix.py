"""Every route of /api/v1/ for every persona, on a row of community A and on a row of community B.

Each route says which scope makes its row visible (a place seen in the tree, or a permission's subtree) and which
permission its action needs where. The expected status follows from those facts and the role table in
linli.core.permissions, evaluated over the persona's own role assignments:

    anonymous                                         -> 401
    a list whose permission the persona holds nowhere -> 403
    a row the persona cannot see                      -> 404 (other communities' rows do not exist for them)
    a visible row without the action's permission     -> 403
    otherwise                                         -> the route's success status

Every call runs inside a savepoint that is rolled back, so each cell starts from the same world, and a refused
write must leave every table, the audit log included, exactly as it was.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, TestCase

from linli.accounts.models import ApiToken, RoleAssignment
from linli.alerts.models import Alert, AlertEvent, Rule
from linli.alerts.tests.matrix_rows import build_alert_rows
from linli.api import api
from linli.core.actor import Actor
from linli.core.models import AuditEntry
from linli.core.permissions import ROLE_PERMISSIONS, Perm, Role
from linli.core.testing import make_token, random_id_number
from linli.devices.models import Device, DeviceCredential, DeviceEvent, QuarantinedPayload, Vehicle, VisitorPass
from linli.devices.tests.matrix_rows import build_device_rows, device_sheet
from linli.people.models import EmergencyContact, ImportJob, Occupancy, Resident, ResidentTag
from linli.places.models import Facility, Grid, Place
from linli.tickets.models import Category, Rating, ReturnVisit, Ticket, TicketEvent, TicketPhoto
from linli.tickets.tests.images import jpeg
from linli.tickets.tests.matrix_rows import build_ticket_rows

P = Perm
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERSONAS = ["resident_a", "grid_a", "property_a", "committee_a", "staff_a", "staff_b", "street_admin",
            "district_admin", "sysadmin", "nobody", "anonymous"]
PLACE = "place"  # "visible as a place": inside a PLACE_VIEW subtree or an ancestor of one (the tree is drawn down to it)
# "in the ticket area": where or above where the persona sees, submits or configures tickets (categories of a place)
TICKET_AREA = "ticket-area"
TICKET_AREA_PERMS = (P.TICKET_VIEW, P.TICKET_SUBMIT, P.TICKET_CONFIGURE)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded files (import sheets, ticket photos) go to a temporary folder, not var/media."""
    settings.MEDIA_ROOT = str(tmp_path)


# ---------------------------------------------------------------- what a persona holds

@dataclass(frozen=True)
class Persona:
    name: str
    grants: tuple[tuple[str, str], ...]  # (role, place path); "/" for a global role

    @property
    def anonymous(self) -> bool:
        return self.name == "anonymous"

    def holds(self, perm: str, path: str) -> bool:
        return any(path.startswith(where) and perm in ROLE_PERMISSIONS[role] for role, where in self.grants)

    def holds_somewhere(self, perm: str) -> bool:
        return any(perm in ROLE_PERMISSIONS[role] for role, _ in self.grants)

    def sees(self, how: str, path: str) -> bool:
        if how == TICKET_AREA:
            return any((path.startswith(where) or where.startswith(path)) and set(TICKET_AREA_PERMS) & ROLE_PERMISSIONS[role]
                       for role, where in self.grants)
        if how != PLACE:
            return self.holds(how, path)
        return self.holds(P.PLACE_VIEW, path) or any(
            where.startswith(path) and P.PLACE_VIEW in ROLE_PERMISSIONS[role] for role, where in self.grants
        )


def persona(world, name: str) -> Persona:
    if name == "anonymous":
        return Persona(name, ())
    rows = RoleAssignment.objects.filter(user=world.users[name], active=True).values_list("role", "place_path")
    return Persona(name, tuple((role, path or "/") for role, path in rows))


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class Case:
    """One call: its URL and body, what must be visible, and what must be held where."""

    url: str
    body: dict | None = None
    files: dict | None = None
    sees: tuple[tuple[str, str], ...] = ()  # (PLACE or a permission, path)
    needs: tuple[tuple[str, str], ...] = ()  # (permission, path)
    list_perm: str | None = None  # a list endpoint: 403 when this permission is held nowhere
    owner: str | None = None  # a personal row (API token): only its owner sees it
    parties: tuple[str, ...] = ()  # see the row through their part in it (a ticket's reporter or assignee)
    acts: tuple[str, ...] = ()  # may take the step as a party (reporter, assignee, member on duty) besides `needs`
    only_parties: bool = False  # the step is for `acts` alone
    answers: tuple[tuple[str, int], ...] = ()  # a business rule's answer for a persona who passes the role table

    def expected(self, p: Persona, ok: int) -> int:
        if p.anonymous:
            return 401
        if self.list_perm and not p.holds_somewhere(self.list_perm):
            return 403
        if self.owner is not None and self.owner != p.name:
            return 404
        if p.name not in self.parties and not all(p.sees(how, path) for how, path in self.sees):
            return 404
        if p.name not in self.acts and (self.only_parties or not all(p.holds(perm, path) for perm, path in self.needs)):
            return 403
        return dict(self.answers).get(p.name, ok)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the OpenAPI document names it, below /api/v1
    ok: int
    case: Callable[[Fx, str], Case]


@dataclass
class Fx:
    """The rows each route is called on, per community ("a" or "b")."""

    world: object
    estate2: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    facility: dict = field(default_factory=dict)
    contact: dict = field(default_factory=dict)
    token: dict = field(default_factory=dict)
    assignment: dict = field(default_factory=dict)
    job: dict = field(default_factory=dict)
    inbox: dict = field(default_factory=dict)
    message: dict = field(default_factory=dict)
    tickets: dict = field(default_factory=dict)
    devices: dict = field(default_factory=dict)
    alerts: dict = field(default_factory=dict)

    def community(self, side):
        return self.world.community_a if side == "a" else self.world.community_b

    def estate(self, side):
        return self.world.estate_a if side == "a" else self.world.estate_b

    def building(self, side):
        return self.world.building_a if side == "a" else self.world.building_b

    def dwelling(self, side):
        return self.world.dwelling_a if side == "a" else self.world.dwelling_b

    def resident(self, side):
        return self.world.resident_a if side == "a" else self.world.resident_b

    def occupancy(self, side):
        return Occupancy.objects.get(resident=self.resident(side), relation="head")


def _resident_row(perm: str | None, ok_suffix: str = "", body: dict | None = None) -> Callable[[Fx, str], Case]:
    def build(fx: Fx, side: str) -> Case:
        r = fx.resident(side)
        return Case(f"/residents/{r.pk}{ok_suffix}", body, sees=((P.RESIDENT_VIEW, r.place_path),),
                    needs=((perm, r.place_path),) if perm else ())
    return build


def _place_row(kind: str, perm: str | None, suffix: str = "", body: dict | None = None) -> Callable[[Fx, str], Case]:
    def build(fx: Fx, side: str) -> Case:
        place = getattr(fx, kind)(side)
        return Case(f"/places/{place.pk}{suffix}", body, sees=((PLACE, place.path),),
                    needs=((perm, place.path),) if perm else ())
    return build


def _list(url: str, perm: str) -> Callable[[Fx, str], Case]:
    """A list filtered by the community: the permission somewhere, then the community visible."""
    def build(fx: Fx, side: str) -> Case:
        c = fx.community(side)
        return Case(url.format(place=c.pk), list_perm=perm, sees=((PLACE, c.path),))
    return build


def _anyone(url: str, body: dict | None = None) -> Callable[[Fx, str], Case]:
    return lambda fx, side: Case(url, body)


def _xlsx(estate: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["小区", "楼栋", "单元", "房号", "姓名", "身份证号"])
    wb.active.append([estate, "1栋", "1单元", "103", "赵敏", random_id_number(seq=7, male=False)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _upload(fx: Fx, side: str) -> Case:
    c = fx.community(side)
    upload = SimpleUploadedFile("residents.xlsx", _xlsx(fx.estate(side).name), content_type=XLSX)
    return Case("/imports", files={"place_id": str(c.pk), "file": upload}, sees=((PLACE, c.path),),
                needs=((P.RESIDENT_IMPORT, c.path),))


def _job(suffix: str, body: dict | None = None) -> Callable[[Fx, str], Case]:
    def build(fx: Fx, side: str) -> Case:
        job = fx.job[side]
        return Case(f"/imports/{job.pk}{suffix}", body, sees=((P.RESIDENT_IMPORT, job.place_path),))
    return build


def _grid_create(fx: Fx, side: str) -> Case:
    c = fx.community(side)
    return Case("/grids", {"community_id": c.pk, "name": "新网格", "building_ids": [fx.building(side).pk]},
                sees=((PLACE, c.path),), needs=((P.GRID_EDIT, c.path),))


def _grid_update(fx: Fx, side: str) -> Case:
    g = fx.grid[side]
    return Case(f"/grids/{g.pk}", {"name": "改名网格"}, sees=((P.PLACE_VIEW, g.place_path),),
                needs=((P.GRID_EDIT, g.place_path),))


def _facility_create(fx: Fx, side: str) -> Case:
    e = fx.estate(side)
    return Case("/facilities", {"place_id": e.pk, "kind": "canteen", "name": "长者食堂"}, sees=((PLACE, e.path),),
                needs=((P.FACILITY_EDIT, e.path),))


def _facility_update(fx: Fx, side: str) -> Case:
    f = fx.facility[side]
    return Case(f"/facilities/{f.pk}", {"opening_hours": "8:00-17:00"}, sees=((P.PLACE_VIEW, f.place_path),),
                needs=((P.FACILITY_EDIT, f.place_path),))


def _place_create(fx: Fx, side: str) -> Case:
    e = fx.estate(side)
    return Case("/places", {"kind": "building", "parent_id": e.pk, "name": "9栋"}, sees=((PLACE, e.path),),
                needs=((P.PLACE_EDIT, e.path),))


def _merge(fx: Fx, side: str) -> Case:
    e1, e2 = fx.estate(side), fx.estate2[side]
    return Case("/places/merge-estates", {"estate_ids": [e1.pk, e2.pk], "into_name": "合并苑"},
                sees=((PLACE, e1.path), (PLACE, e2.path)), needs=((P.PLACE_MERGE, e1.path), (P.PLACE_MERGE, e2.path)))


def _register(fx: Fx, side: str) -> Case:
    d = fx.dwelling(side)
    body = {"place_id": d.pk, "name": "赵敏", "id_number": random_id_number(seq=9, male=False), "relation": "member"}
    return Case("/residents", body, sees=((PLACE, d.path),), needs=((P.RESIDENT_EDIT, d.path),))


def _occupancy_add(fx: Fx, side: str) -> Case:
    r, d = fx.resident(side), fx.dwelling(side)
    return Case(f"/residents/{r.pk}/occupancies", {"dwelling_id": d.pk, "relation": "owner"},
                sees=((P.RESIDENT_VIEW, r.place_path), (PLACE, d.path)),
                needs=((P.RESIDENT_EDIT, r.place_path), (P.RESIDENT_EDIT, d.path)))


def _occupancy_end(fx: Fx, side: str) -> Case:
    o = fx.occupancy(side)
    return Case(f"/occupancies/{o.pk}/end", {}, sees=((P.RESIDENT_VIEW, o.place_path),),
                needs=((P.RESIDENT_EDIT, o.place_path),))


def _contact_remove(fx: Fx, side: str) -> Case:
    c = fx.contact[side]
    return Case(f"/emergency-contacts/{c.pk}", sees=((P.RESIDENT_VIEW, c.resident.place_path),),
                needs=((P.RESIDENT_EDIT, c.resident.place_path),))


def _household(fx: Fx, side: str) -> Case:
    d = fx.dwelling(side)
    return Case(f"/dwellings/{d.pk}/household", sees=((PLACE, d.path),), needs=((P.RESIDENT_VIEW, d.path),))


def _assign(fx: Fx, side: str) -> Case:
    c = fx.community(side)
    # Nobody hands out powers they do not hold there: the manager needs every permission of the role given.
    needed = {P.USER_MANAGE} | ROLE_PERMISSIONS[Role.GRID_WORKER]
    return Case("/role-assignments", {"user_id": fx.world.users["nobody"].pk, "role": "grid_worker", "place_id": c.pk},
                sees=((PLACE, c.path),), needs=tuple((perm, c.path) for perm in sorted(needed)))


def _revoke_role(fx: Fx, side: str) -> Case:
    a = fx.assignment[side]
    return Case(f"/role-assignments/{a.pk}", sees=((P.USER_MANAGE, a.place_path),))


def _revoke_token(fx: Fx, side: str) -> Case:
    t = fx.token[side]
    return Case(f"/tokens/{t.pk}", owner=t.user.get_username())


def _inbox_read(fx: Fx, side: str) -> Case:
    item = fx.inbox[side]
    return Case(f"/notifications/inbox/{item.pk}/read", {}, owner=item.user.get_username())


def _message(suffix: str, body: dict | None = None) -> Callable[[Fx, str], Case]:
    def build(fx: Fx, side: str) -> Case:
        m = fx.message[side]
        return Case(f"/notifications/messages/{m.pk}{suffix}", body, sees=((P.NOTIFY_MANAGE, m.place_path),))
    return build


def _ticket(status: str, suffix: str = "", body: dict | None = None, needs: str | None = None,
            acts: tuple[str, ...] = (), only_parties: bool = False) -> Callable[[Fx, str], Case]:
    """A step on a ticket in ``status``. ``acts``: "reporter", "assignee", "member" (the on-duty member who may grab)."""
    def build(fx: Fx, side: str) -> Case:
        rows = fx.tickets[side]
        t = rows[status]
        who = {"reporter": rows["reporter"], "assignee": rows["worker"] if t.assignee_id else None,
               "member": rows["worker"]}
        data = {k: (v(rows) if callable(v) else v) for k, v in (body or {}).items()}
        return Case(f"/tickets/{t.pk}{suffix}", data, sees=((P.TICKET_VIEW, t.place_path),),
                    parties=tuple(n for n in (rows["reporter"], who["assignee"]) if n),
                    needs=((needs, t.place_path),) if needs else (), only_parties=only_parties,
                    acts=tuple(who[a] for a in acts if who[a]))
    return build


def _ticket_submit(fx: Fx, side: str) -> Case:
    e = fx.estate(side)
    body = {"kind": "repair", "category_id": Category.objects.get(place_path="", code="parking").pk, "place_id": e.pk,
            "description": "车位被占", "channel": "phone"}
    resident = fx.tickets[side]["reporter"]
    # The resident reports at a public spot of their own estate, but their own tickets come from the app: 422.
    return Case("/tickets", body, sees=((P.TICKET_SUBMIT, e.path),), parties=(resident,) if resident else (),
                answers=((resident, 422),) if resident else ())


def _ticket_photos(fx: Fx, side: str) -> Case:
    case = _ticket("submitted", "/photos", needs=P.TICKET_HANDLE, acts=("reporter",))(fx, side)
    files = {"stage": "report", "photos": SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")}
    return Case(case.url, files=files, sees=case.sees, parties=case.parties, needs=case.needs, acts=case.acts)


def _ticket_category(suffix: str, body: dict | None = None, create: bool = False) -> Callable[[Fx, str], Case]:
    def build(fx: Fx, side: str) -> Case:
        c = fx.community(side)
        if create:
            return Case("/tickets/categories", {"code": "lift", "name": "电梯", "place_id": c.pk},
                        sees=((PLACE, c.path),), needs=((P.TICKET_CONFIGURE, c.path),))
        cat = fx.tickets[side]["category"]
        return Case(f"/tickets/categories/{cat.pk}{suffix}", body, sees=((TICKET_AREA, cat.place_path),),
                    needs=((P.TICKET_CONFIGURE, cat.place_path),))
    return build


def _visit_complete(fx: Fx, side: str) -> Case:
    v = fx.tickets[side]["visit"]
    return Case(f"/tickets/return-visits/{v.pk}/complete", {"outcome": "satisfied"}, sees=((P.TICKET_HANDLE, v.place_path),))


def _photo_get(fx: Fx, side: str) -> Case:
    case = _ticket("submitted")(fx, side)
    return Case(f"{case.url}/photos/{fx.tickets[side]['photo'].pk}", sees=case.sees, parties=case.parties)


DEVICE_URLS = {"device": "/devices", "event": "/device-events", "quarantine": "/quarantine",
               "credential": "/device-credentials", "vehicle": "/vehicles", "pass": "/visitor-passes"}


def _dev(row: str, suffix: str = "", body: dict | None = None, see: str = P.DEVICE_VIEW,
         need: str | None = None) -> Callable[[Fx, str], Case]:
    """A route on one of the device rows of a community, seen with ``see`` there, acting with ``need`` there."""
    def build(fx: Fx, side: str) -> Case:
        r = fx.devices[side][row]
        return Case(f"{DEVICE_URLS[row]}/{r.pk}{suffix}", body, sees=((see, r.place_path),),
                    needs=((need, r.place_path),) if need else ())
    return build


def _dev_create(url: str, body: Callable[[Fx, str], dict], need: str) -> Callable[[Fx, str], Case]:
    """A creation at the community's estate (its place_id), which must be visible, by ``need`` there."""
    def build(fx: Fx, side: str) -> Case:
        e = fx.estate(side)
        return Case(url, {"place_id": e.pk, **body(fx, side)}, sees=((PLACE, e.path),), needs=((need, e.path),))
    return build


def _alert(suffix: str = "", body: dict | None = None, need: str | None = None) -> Callable[[Fx, str], Case]:
    """A route on the community's open alert: seen with ALERT_VIEW there, acting with ``need`` there."""
    def build(fx: Fx, side: str) -> Case:
        a = fx.alerts[side]["alert"]
        return Case(f"/alerts/{a.pk}{suffix}", body, sees=((P.ALERT_VIEW, a.place_path),),
                    needs=((need, a.place_path),) if need else ())
    return build


def _alert_ticket(fx: Fx, side: str) -> Case:
    a = fx.alerts[side]["alert"]
    body = {"kind": "repair", "category_id": Category.objects.get(place_path="", code="parking").pk}
    return Case(f"/alerts/{a.pk}/ticket", body, sees=((P.ALERT_VIEW, a.place_path),),
                needs=((P.ALERT_HANDLE, a.place_path), (P.TICKET_SUBMIT, a.place_path)))


def _rule_create(fx: Fx, side: str) -> Case:
    c = fx.community(side)
    body = {"place_id": c.pk, "code": "fire_lane", "name": "消防通道占用（社区）", "event_kinds": ["camera.fire_lane"],
            "severity": "critical"}
    return Case("/alert-rules", body, sees=((PLACE, c.path),), needs=((P.RULE_MANAGE, c.path),))


def _rule_update(fx: Fx, side: str) -> Case:
    r = fx.alerts[side]["rule"]
    return Case(f"/alert-rules/{r.pk}", {"enabled": False}, sees=((P.RULE_MANAGE, r.place_path),),
                needs=((P.RULE_MANAGE, r.place_path),))


def _dev_import(fx: Fx, side: str) -> Case:
    e = fx.estate(side)
    upload = SimpleUploadedFile("devices.xlsx", device_sheet(f"MATRIX-CAM-{side}"), content_type=XLSX)
    return Case("/devices/import", files={"place_id": str(e.pk), "file": upload}, sees=((PLACE, e.path),),
                needs=((P.DEVICE_MANAGE, e.path),))


def _dev_credential(fx: Fx, side: str) -> Case:
    rows = fx.devices[side]
    door, resident = rows["device"], rows["resident"]
    body = {"resident_id": resident.pk, "ref_type": "card_no", "ref": "M-2", "device_id": door.pk}
    return Case("/device-credentials", body, sees=((P.RESIDENT_VIEW, resident.place_path), (P.DEVICE_VIEW, door.place_path)),
                needs=((P.PASSAGE_MANAGE, door.place_path),))


def _last_seen(fx: Fx, side: str) -> Case:
    r = fx.resident(side)
    return Case(f"/passages/last-seen/{r.pk}", sees=((P.RESIDENT_VIEW, r.place_path),),
                needs=((P.PASSAGE_VIEW, r.place_path),))


ROUTES: list[Route] = [
    # accounts
    Route("GET", "/me", 200, _anyone("/me")),
    Route("POST", "/tokens", 201, _anyone("/tokens", {"name": "matrix"})),
    Route("GET", "/tokens", 200, _anyone("/tokens")),
    Route("DELETE", "/tokens/{token_id}", 204, _revoke_token),
    Route("GET", "/role-assignments", 200, _list("/role-assignments?place={place}", P.USER_MANAGE)),
    Route("POST", "/role-assignments", 201, _assign),
    Route("DELETE", "/role-assignments/{assignment_id}", 204, _revoke_role),
    Route("GET", "/audit", 200, _list("/audit?place={place}", P.AUDIT_VIEW)),
    # places
    Route("GET", "/places", 200, _list("/places?parent={place}", P.PLACE_VIEW)),
    Route("POST", "/places", 201, _place_create),
    Route("GET", "/places/{place_id}", 200, _place_row("estate", None)),
    Route("PATCH", "/places/{place_id}", 200, _place_row("estate", P.PLACE_EDIT, body={"year_built": 1990})),
    Route("POST", "/places/merge-estates", 200, _merge),
    Route("GET", "/places/{place_id}/events", 200, _place_row("estate", None, "/events")),
    Route("GET", "/grids", 200, _list("/grids?place={place}", P.PLACE_VIEW)),
    Route("POST", "/grids", 201, _grid_create),
    Route("PATCH", "/grids/{grid_id}", 200, _grid_update),
    Route("GET", "/facilities", 200, _list("/facilities?place={place}", P.PLACE_VIEW)),
    Route("POST", "/facilities", 201, _facility_create),
    Route("PATCH", "/facilities/{facility_id}", 200, _facility_update),
    Route("GET", "/geo/convert", 200, _anyone("/geo/convert?lng=114.2961&lat=29.8331&from=wgs84&to=bd09")),
    # people
    Route("GET", "/care-tags", 200, _anyone("/care-tags")),
    Route("GET", "/residents", 200, _list("/residents?place={place}", P.RESIDENT_VIEW)),
    Route("GET", "/residents/export", 200, _list("/residents/export?place={place}", P.RESIDENT_EXPORT)),
    Route("POST", "/residents", 201, _register),
    Route("GET", "/residents/{resident_id}", 200, _resident_row(None)),
    Route("PATCH", "/residents/{resident_id}", 200, _resident_row(P.RESIDENT_EDIT, body={"notes": "矩阵"})),
    Route("POST", "/residents/{resident_id}/reveal", 200,
          _resident_row(P.RESIDENT_REVEAL, "/reveal", {"field": "phone", "reason": "matrix"})),
    Route("POST", "/residents/{resident_id}/occupancies", 201, _occupancy_add),
    Route("POST", "/occupancies/{occupancy_id}/end", 200, _occupancy_end),
    Route("PUT", "/residents/{resident_id}/tags", 200, _resident_row(P.RESIDENT_EDIT, "/tags", {"tags": ["veteran"]})),
    Route("POST", "/residents/{resident_id}/emergency-contacts", 201,
          _resident_row(P.RESIDENT_EDIT, "/emergency-contacts", {"name": "李四", "phone": "13700137000"})),
    Route("DELETE", "/emergency-contacts/{contact_id}", 204, _contact_remove),
    Route("GET", "/dwellings/{dwelling_id}/household", 200, _household),
    # spreadsheet import
    Route("GET", "/imports/template", 200, lambda fx, side: Case("/imports/template", list_perm=P.RESIDENT_IMPORT)),
    Route("POST", "/imports", 201, _upload),
    Route("GET", "/imports", 200, _list("/imports?place={place}", P.RESIDENT_IMPORT)),
    Route("GET", "/imports/{job_id}", 200, _job("")),
    Route("GET", "/imports/{job_id}/errors", 200, _job("/errors")),
    Route("POST", "/imports/{job_id}/commit", 200, _job("/commit", {"keep": "nothing"})),
    # notifications
    Route("GET", "/notifications/inbox", 200, _anyone("/notifications/inbox")),
    Route("POST", "/notifications/inbox/{item_id}/read", 200, _inbox_read),
    Route("GET", "/notifications/messages", 200,
          lambda fx, side: Case("/notifications/messages", list_perm=P.NOTIFY_MANAGE)),
    Route("GET", "/notifications/messages/{message_id}", 200, _message("")),
    Route("POST", "/notifications/messages/{message_id}/retry", 200, _message("/retry", {})),
    Route("GET", "/notifications/preferences", 200, _anyone("/notifications/preferences")),
    Route("PUT", "/notifications/preferences", 200, _anyone("/notifications/preferences", {"preferences": []})),
    # tickets
    Route("GET", "/tickets", 200, _anyone("/tickets")),
    Route("POST", "/tickets", 201, _ticket_submit),
    Route("GET", "/tickets/{ticket_id}", 200, _ticket("submitted")),
    Route("POST", "/tickets/{ticket_id}/accept", 200, _ticket("submitted", "/accept", {}, P.TICKET_HANDLE)),
    Route("POST", "/tickets/{ticket_id}/reject", 200, _ticket("submitted", "/reject", {"reason": "重复"}, P.TICKET_HANDLE)),
    Route("POST", "/tickets/{ticket_id}/withdraw", 200, _ticket("submitted", "/withdraw", {}, acts=("reporter",),
                                                                only_parties=True)),
    Route("POST", "/tickets/{ticket_id}/assign", 200,
          _ticket("accepted", "/assign", {"assignee_id": lambda r: r["fixer"].pk}, P.TICKET_DISPATCH)),
    Route("POST", "/tickets/{ticket_id}/grab", 200, _ticket("accepted_grab", "/grab", acts=("member",), only_parties=True)),
    Route("POST", "/tickets/{ticket_id}/dispatch", 200, _ticket("accepted", "/dispatch", needs=P.TICKET_DISPATCH)),
    Route("POST", "/tickets/{ticket_id}/reassign", 200, _ticket(
        "dispatched", "/reassign", {"assignee_id": lambda r: r["fixer"].pk, "reason": "休假"}, P.TICKET_DISPATCH)),
    Route("POST", "/tickets/{ticket_id}/transfer", 200, _ticket(
        "accepted", "/transfer", {"organisation_id": lambda r: r["committee"].pk, "reason": "转社区"}, P.TICKET_DISPATCH)),
    Route("POST", "/tickets/{ticket_id}/start", 200, _ticket("dispatched", "/start", acts=("assignee",), only_parties=True)),
    Route("POST", "/tickets/{ticket_id}/pause", 200,
          _ticket("in_progress", "/pause", {"reason": "等配件"}, P.TICKET_HANDLE, acts=("assignee",))),
    Route("POST", "/tickets/{ticket_id}/resume", 200, _ticket("paused", "/resume", needs=P.TICKET_HANDLE, acts=("assignee",))),
    Route("POST", "/tickets/{ticket_id}/resolve", 200,
          _ticket("in_progress", "/resolve", {"note": "已修好"}, P.TICKET_HANDLE, acts=("assignee",))),
    Route("POST", "/tickets/{ticket_id}/confirm", 200, _ticket("resolved", "/confirm", acts=("reporter",), only_parties=True)),
    Route("POST", "/tickets/{ticket_id}/reopen", 200,
          _ticket("resolved", "/reopen", {"reason": "没修好"}, P.TICKET_HANDLE, acts=("reporter",))),
    Route("POST", "/tickets/{ticket_id}/comment", 200,
          _ticket("dispatched", "/comment", {"note": "明早上门"}, P.TICKET_HANDLE, acts=("reporter", "assignee"))),
    Route("POST", "/tickets/{ticket_id}/photos", 201, _ticket_photos),
    Route("GET", "/tickets/{ticket_id}/photos/{photo_id}", 200, _photo_get),
    Route("POST", "/tickets/{ticket_id}/rating", 201,
          _ticket("closed", "/rating", {"overall": 5, "speed": 4, "attitude": 5}, acts=("reporter",), only_parties=True)),
    Route("GET", "/tickets/categories", 200, _anyone("/tickets/categories")),
    Route("POST", "/tickets/categories", 201, _ticket_category("", create=True)),
    Route("PATCH", "/tickets/categories/{category_id}", 200, _ticket_category("", {"resolution_hours": 12})),
    Route("GET", "/tickets/return-visits", 200, _list("/tickets/return-visits?place_id={place}", P.TICKET_HANDLE)),
    Route("POST", "/tickets/return-visits/{visit_id}/complete", 200, _visit_complete),
    Route("GET", "/tickets/kpis", 200, _list("/tickets/kpis?place_id={place}&group=category", P.TICKET_KPI)),
    Route("GET", "/tickets/kpis.xlsx", 200, _list("/tickets/kpis.xlsx?place_id={place}", P.TICKET_KPI)),
    # devices, events and passages
    Route("GET", "/devices", 200, _list("/devices?place={place}", P.DEVICE_VIEW)),
    Route("POST", "/devices", 201, _dev_create("/devices", lambda fx, side: {
        "kind": "ai_camera", "vendor": "generic", "serial": "MATRIX-NEW", "name": "矩阵摄像头"}, P.DEVICE_MANAGE)),
    Route("GET", "/devices/import-template", 200,
          lambda fx, side: Case("/devices/import-template", list_perm=P.DEVICE_MANAGE)),
    Route("POST", "/devices/import", 201, _dev_import),
    Route("GET", "/devices/{device_id}", 200, _dev("device")),
    Route("PATCH", "/devices/{device_id}", 200, _dev("device", body={"name": "矩阵改名"}, need=P.DEVICE_MANAGE)),
    Route("POST", "/devices/{device_id}/rotate-secret", 200, _dev("device", "/rotate-secret", {}, need=P.DEVICE_MANAGE)),
    Route("POST", "/devices/{device_id}/retire", 200, _dev("device", "/retire", {}, need=P.DEVICE_MANAGE)),
    Route("GET", "/device-events", 200, _list("/device-events?place={place}", P.PASSAGE_VIEW)),
    Route("GET", "/device-events/{event_id}", 200, _dev("event", see=P.PASSAGE_VIEW)),
    Route("GET", "/passages", 200, _list("/passages?place={place}", P.PASSAGE_VIEW)),
    Route("GET", "/passages/last-seen/{resident_id}", 200, _last_seen),
    Route("GET", "/quarantine", 200, _list("/quarantine?place={place}", P.DEVICE_VIEW)),
    Route("GET", "/quarantine/{item_id}", 200, _dev("quarantine")),
    Route("POST", "/quarantine/{item_id}/reprocess", 200, _dev("quarantine", "/reprocess", {}, need=P.DEVICE_MANAGE)),
    Route("GET", "/device-credentials", 200, _list("/device-credentials?place={place}", P.PASSAGE_VIEW)),
    Route("POST", "/device-credentials", 201, _dev_credential),
    Route("DELETE", "/device-credentials/{credential_id}", 204,
          _dev("credential", see=P.PASSAGE_VIEW, need=P.PASSAGE_MANAGE)),
    Route("GET", "/vehicles", 200, _list("/vehicles?place={place}", P.PASSAGE_VIEW)),
    Route("POST", "/vehicles", 201, _dev_create("/vehicles", lambda fx, side: {"plate": "鄂L09999"}, P.PASSAGE_MANAGE)),
    Route("DELETE", "/vehicles/{vehicle_id}", 204, _dev("vehicle", see=P.PASSAGE_VIEW, need=P.PASSAGE_MANAGE)),
    Route("GET", "/visitor-passes", 200, _list("/visitor-passes?place={place}", P.PASSAGE_VIEW)),
    Route("POST", "/visitor-passes", 201,
          _dev_create("/visitor-passes", lambda fx, side: {"name": "矩阵访客"}, P.PASSAGE_MANAGE)),
    Route("POST", "/visitor-passes/{pass_id}/revoke", 200,
          _dev("pass", "/revoke", {}, see=P.PASSAGE_VIEW, need=P.PASSAGE_MANAGE)),
    # alerts and their rules
    Route("GET", "/alerts", 200, _list("/alerts?place={place}", P.ALERT_VIEW)),
    Route("GET", "/alerts/{alert_id}", 200, _alert()),
    Route("POST", "/alerts/{alert_id}/acknowledge", 200, _alert("/acknowledge", {"note": "收到"}, P.ALERT_HANDLE)),
    Route("POST", "/alerts/{alert_id}/resolve", 200, _alert("/resolve", {}, P.ALERT_HANDLE)),
    Route("POST", "/alerts/{alert_id}/false-alarm", 200, _alert("/false-alarm", {"note": "施工"}, P.ALERT_HANDLE)),
    Route("POST", "/alerts/{alert_id}/comment", 200, _alert("/comment", {"note": "已联系"}, P.ALERT_HANDLE)),
    Route("POST", "/alerts/{alert_id}/ticket", 201, _alert_ticket),
    Route("GET", "/alert-rules", 200, _list("/alert-rules?place={place}", P.RULE_MANAGE)),
    Route("POST", "/alert-rules", 201, _rule_create),
    Route("PATCH", "/alert-rules/{rule_id}", 200, _rule_update),
]

WATCHED = (AuditEntry, Place, Facility, Grid, Resident, Occupancy, ResidentTag, EmergencyContact, RoleAssignment,
           ApiToken, ImportJob, Ticket, TicketEvent, TicketPhoto, Rating, ReturnVisit, Category,
           Device, DeviceCredential, DeviceEvent, QuarantinedPayload, Vehicle, VisitorPass, Rule, Alert, AlertEvent)


def _counts() -> dict[str, int]:
    """Row counts of every watched table, in one query (the matrix takes this snapshot twice per call)."""
    from django.db import connection

    tables = ", ".join(f"(SELECT COUNT(*) FROM {connection.ops.quote_name(m._meta.db_table)})" for m in WATCHED)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {tables}")
        return dict(zip((m.__name__ for m in WATCHED), cursor.fetchone(), strict=True))


def build_fixture(world) -> Fx:
    from linli.accounts.actions import issue_token
    from linli.people.actions import add_emergency_contact
    from linli.people.imports.actions import start_import
    from linli.places.actions import create_facility, create_place, save_grid

    system = Actor.system("matrix-setup")
    fx = Fx(world=world)
    for side in ("a", "b"):
        fx.estate2[side] = create_place(actor=system, kind="estate", parent=fx.community(side), name=f"第二苑{side}")
        fx.grid[side] = save_grid(actor=system, community=fx.community(side), name="一网格",
                                  building_ids=[fx.building(side).pk])
        fx.facility[side] = create_facility(actor=system, place=fx.estate(side), kind="canteen", name="社区食堂")
        fx.contact[side] = add_emergency_contact(actor=system, resident=fx.resident(side), name="王五",
                                                 phone="13600136000")
        owner = world.users["staff_a" if side == "a" else "staff_b"]
        fx.token[side] = issue_token(actor=Actor.for_user(owner), user=owner, name=f"row-{side}")[0]
        fx.assignment[side] = RoleAssignment.objects.get(
            user=world.users["grid_a" if side == "a" else "staff_b"], active=True)
        # Validation runs when the upload commits: the job waits for the user's decision (validated).
        with TestCase.captureOnCommitCallbacks(execute=True):
            fx.job[side] = start_import(actor=Actor.for_user(owner), place=fx.community(side), filename="residents.xlsx",
                                        upload=SimpleUploadedFile("residents.xlsx", _xlsx(fx.estate(side).name)))
        fx.job[side].refresh_from_db()
        assert fx.job[side].status == "validated", fx.job[side].message
        fx.inbox[side], fx.message[side] = _notifications(world, side)
        fx.tickets[side] = build_ticket_rows(world, side)
        fx.devices[side] = build_device_rows(world, side)
        fx.alerts[side] = build_alert_rows(world, side)
    return fx


def _notifications(world, side: str):
    """An in-app message delivered to resident_a (side a) or staff_b (side b), and a dead SMS in the community."""
    from linli.notify.actions import enqueue_message, send_message
    from linli.notify.models import InboxItem, Message

    system = Actor.system("matrix-setup")
    user = world.users["resident_a" if side == "a" else "staff_b"]
    [inapp] = enqueue_message(actor=system, recipient=user, template="notify.test", context={"name": "矩阵"},
                              channel="inapp")
    send_message(message_id=inapp.pk)
    dwelling = world.dwelling_a if side == "a" else world.dwelling_b
    [sms] = enqueue_message(actor=system, address="13800138000", channel="sms", template="notify.test",
                            context={"name": "矩阵"}, place_path=dwelling.path)
    Message.objects.filter(pk=sms.pk).update(status="dead", attempts=5)
    return InboxItem.objects.get(message=inapp), Message.objects.get(pk=sms.pk)


def call(client: Client, method: str, case: Case, headers: dict):
    url = "/api/v1" + case.url
    if case.files is not None:
        return client.post(url, case.files, headers=headers)
    if method in ("GET", "DELETE"):
        return client.generic(method, url, headers=headers)
    return client.generic(method, url, json.dumps(case.body or {}), content_type="application/json", headers=headers)


@pytest.mark.parametrize("name", PERSONAS)
def test_given_a_persona_when_every_route_is_called_on_community_a_and_b_then_statuses_follow_the_role_table(
    world, name
):
    fx = build_fixture(world)
    who = persona(world, name)
    headers = {} if who.anonymous else {"Authorization": f"Bearer {make_token(world.users[name], 'matrix')}"}
    client = Client()
    mismatches = []
    for route in ROUTES:
        for side in ("a", "b"):
            case = route.case(fx, side)
            expected = case.expected(who, route.ok)
            with transaction.atomic():
                before = _counts()
                response = call(client, route.method, case, headers)
                after = _counts()
                transaction.set_rollback(True)
            if response.status_code != expected:
                mismatches.append((route.method, route.path, side, expected, response.status_code,
                                   response.content[:160].decode(errors="replace")))
            elif response.status_code >= 400:
                if after != before:
                    mismatches.append((route.method, route.path, side, "refused but wrote", before, after))
                body = response.json()
                if not (body.get("message_zh") and body.get("message_en")):
                    mismatches.append((route.method, route.path, side, "error without zh/en", body))
            elif route.method != "GET" and after["AuditEntry"] <= before["AuditEntry"]:
                mismatches.append((route.method, route.path, side, "write without an audit entry"))
    assert mismatches == []


def _openapi_routes() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return {(method.upper(), path.removeprefix("/api/v1")) for path, ops in schema["paths"].items() for method in ops}


def test_given_the_api_when_its_routes_are_listed_then_the_matrix_has_exactly_one_row_for_each():
    import re

    listed = [(r.method, r.path) for r in ROUTES]
    assert len(listed) == len(set(listed))
    assert set(listed) == _openapi_routes()
    # Every URL the API serves is in the OpenAPI document (nothing hides with include_in_schema=False).
    served = set()
    for pattern in api.urls[0]:
        route = "/" + str(pattern.pattern)
        served.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    documented = {path for _, path in _openapi_routes()}
    assert served - {"/openapi.json", "/docs", "/"} == documented


def test_given_the_matrix_when_its_expectations_are_read_then_the_scope_boundaries_are_the_ones_the_issue_states(world):
    fx = build_fixture(world)
    row = {(r.method, r.path): r for r in ROUTES}

    def expect(method, path, name, side):
        route = row[(method, path)]
        return route.case(fx, side).expected(persona(world, name), route.ok)

    detail = ("GET", "/residents/{resident_id}")
    assert [expect(*detail, "staff_a", "a"), expect(*detail, "staff_b", "a"), expect(*detail, "street_admin", "b")] == [
        200, 404, 200]
    assert expect(*detail, "anonymous", "a") == 401
    assert expect(*detail, "sysadmin", "a") == 404  # the system administrator never sees personal data
    assert expect("PATCH", "/residents/{resident_id}", "property_a", "a") == 403
    assert expect("POST", "/residents/{resident_id}/reveal", "grid_a", "a") == 200
    assert expect("POST", "/residents/{resident_id}/reveal", "resident_a", "a") == 403
    assert expect("GET", "/residents", "committee_a", "a") == 403
    assert expect("PATCH", "/places/{place_id}", "resident_a", "a") == 403  # the estate is an ancestor of their home
    assert expect("POST", "/places/merge-estates", "staff_a", "a") == 403
    assert expect("POST", "/places/merge-estates", "street_admin", "b") == 200
    assert expect("POST", "/role-assignments", "sysadmin", "a") == 403  # cannot hand out resident access
    assert expect("DELETE", "/tokens/{token_id}", "staff_b", "a") == 404
    ticket = ("GET", "/tickets/{ticket_id}")
    assert [expect(*ticket, "resident_a", "a"), expect(*ticket, "staff_b", "a"), expect(*ticket, "committee_a", "a")] == [
        200, 404, 404]  # the reporter sees their own ticket; another community's staff and the owners' committee do not
    assert expect("POST", "/tickets/{ticket_id}/accept", "resident_a", "a") == 403
    assert expect("POST", "/tickets/{ticket_id}/confirm", "staff_a", "a") == 403  # only the reporter confirms
    assert expect("POST", "/tickets/{ticket_id}/start", "property_a", "a") == 200  # the assignee
    assert expect("POST", "/tickets/{ticket_id}/start", "staff_a", "a") == 403
    assert expect("POST", "/tickets/{ticket_id}/grab", "grid_a", "a") == 403  # not a member of the property company
