"""What each role may do: the one table in code. Tests walk it as a matrix (core/tests/test_permissions.py)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    GRID_WORKER = "grid_worker", _("网格员")
    PROPERTY_STAFF = "property_staff", _("物业人员")
    COMMUNITY_STAFF = "community_staff", _("社区工作人员")
    OWNERS_COMMITTEE = "owners_committee", _("业委会")
    STREET_ADMIN = "street_admin", _("街道管理员")
    DISTRICT_ADMIN = "district_admin", _("区管理员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")


class Perm:
    PLACE_VIEW = "place.view"
    PLACE_EDIT = "place.edit"
    PLACE_MERGE = "place.merge"
    FACILITY_EDIT = "facility.edit"
    GRID_EDIT = "grid.edit"
    RESIDENT_VIEW = "resident.view"
    RESIDENT_EDIT = "resident.edit"
    RESIDENT_REVEAL = "resident.reveal"  # see an ID number or phone in full (audited)
    RESIDENT_IMPORT = "resident.import"
    RESIDENT_EXPORT = "resident.export"
    AUDIT_VIEW = "audit.view"
    USER_MANAGE = "user.manage"
    NOTIFY_MANAGE = "notify.manage"  # see the outbox of an area (dead letters) and re-queue messages
    TICKET_SUBMIT = "ticket.submit"  # residents: for themselves; staff: for a resident who phoned or walked in
    TICKET_VIEW = "ticket.view"  # the ticket pool of an area (residents see their own tickets without it)
    TICKET_HANDLE = "ticket.handle"  # accept, reject, pause, resume, resolve, comment; grab as a member on duty
    TICKET_DISPATCH = "ticket.dispatch"  # assign, reassign, transfer, round-robin
    TICKET_CONFIGURE = "ticket.configure"  # categories and their deadlines, organisations and their members
    TICKET_KPI = "ticket.kpi"  # the KPI table of an area and its export
    DEVICE_VIEW = "device.view"  # the device registry of an area and its quarantine list (payloads need PASSAGE_VIEW)
    DEVICE_MANAGE = "device.manage"  # register, change, re-key and retire devices; reprocess quarantined payloads
    PASSAGE_VIEW = "passage.view"  # device events and passages of an area: who passed where and when
    PASSAGE_MANAGE = "passage.manage"  # device credentials (card, face id -> resident), vehicles, visitor passes
    ALERT_VIEW = "alert.view"  # the alerts of an area and their history
    ALERT_HANDLE = "alert.handle"  # acknowledge, resolve, mark false alarm, comment, turn into a ticket
    RULE_MANAGE = "rule.manage"  # the alert rules of an area


R = Role
P = Perm

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    R.RESIDENT: frozenset({P.PLACE_VIEW, P.RESIDENT_VIEW, P.TICKET_SUBMIT}),
    R.OWNERS_COMMITTEE: frozenset({P.PLACE_VIEW}),
    R.PROPERTY_STAFF: frozenset(
        {P.PLACE_VIEW, P.RESIDENT_VIEW, P.TICKET_SUBMIT, P.TICKET_VIEW, P.TICKET_HANDLE, P.TICKET_DISPATCH, P.TICKET_KPI,
         P.DEVICE_VIEW, P.DEVICE_MANAGE, P.PASSAGE_VIEW, P.PASSAGE_MANAGE, P.ALERT_VIEW, P.ALERT_HANDLE}
    ),
    R.GRID_WORKER: frozenset(
        {P.PLACE_VIEW, P.RESIDENT_VIEW, P.RESIDENT_EDIT, P.RESIDENT_REVEAL, P.RESIDENT_EXPORT,
         P.TICKET_SUBMIT, P.TICKET_VIEW, P.TICKET_HANDLE, P.DEVICE_VIEW, P.PASSAGE_VIEW, P.ALERT_VIEW,
         P.ALERT_HANDLE}
    ),
    R.COMMUNITY_STAFF: frozenset(
        {
            P.PLACE_VIEW, P.PLACE_EDIT, P.FACILITY_EDIT, P.GRID_EDIT,
            P.RESIDENT_VIEW, P.RESIDENT_EDIT, P.RESIDENT_REVEAL, P.RESIDENT_IMPORT, P.RESIDENT_EXPORT,
            P.AUDIT_VIEW, P.NOTIFY_MANAGE,
            P.TICKET_SUBMIT, P.TICKET_VIEW, P.TICKET_HANDLE, P.TICKET_DISPATCH, P.TICKET_CONFIGURE, P.TICKET_KPI,
            P.DEVICE_VIEW, P.DEVICE_MANAGE, P.PASSAGE_VIEW, P.PASSAGE_MANAGE,
            P.ALERT_VIEW, P.ALERT_HANDLE, P.RULE_MANAGE,
        }
    ),
    R.STREET_ADMIN: frozenset(
        {
            P.PLACE_VIEW, P.PLACE_EDIT, P.PLACE_MERGE, P.FACILITY_EDIT, P.GRID_EDIT,
            P.RESIDENT_VIEW, P.RESIDENT_EDIT, P.RESIDENT_REVEAL, P.RESIDENT_IMPORT, P.RESIDENT_EXPORT,
            P.AUDIT_VIEW, P.USER_MANAGE, P.NOTIFY_MANAGE,
            P.TICKET_SUBMIT, P.TICKET_VIEW, P.TICKET_HANDLE, P.TICKET_DISPATCH, P.TICKET_CONFIGURE, P.TICKET_KPI,
            P.DEVICE_VIEW, P.DEVICE_MANAGE, P.PASSAGE_VIEW, P.PASSAGE_MANAGE,
            P.ALERT_VIEW, P.ALERT_HANDLE, P.RULE_MANAGE,
        }
    ),
    R.DISTRICT_ADMIN: frozenset(
        {
            P.PLACE_VIEW, P.PLACE_EDIT, P.PLACE_MERGE, P.FACILITY_EDIT, P.GRID_EDIT,
            P.RESIDENT_VIEW, P.RESIDENT_EDIT, P.RESIDENT_REVEAL, P.RESIDENT_IMPORT, P.RESIDENT_EXPORT,
            P.AUDIT_VIEW, P.USER_MANAGE, P.NOTIFY_MANAGE,
            P.TICKET_SUBMIT, P.TICKET_VIEW, P.TICKET_HANDLE, P.TICKET_DISPATCH, P.TICKET_CONFIGURE, P.TICKET_KPI,
            P.DEVICE_VIEW, P.DEVICE_MANAGE, P.PASSAGE_VIEW, P.PASSAGE_MANAGE,
            P.ALERT_VIEW, P.ALERT_HANDLE, P.RULE_MANAGE,
        }
    ),
    # The system administrator runs the platform: places, users and the audit log, but never sees personal data.
    R.SYSTEM_ADMIN: frozenset(
        {P.PLACE_VIEW, P.PLACE_EDIT, P.PLACE_MERGE, P.FACILITY_EDIT, P.GRID_EDIT, P.AUDIT_VIEW, P.USER_MANAGE,
         P.NOTIFY_MANAGE, P.TICKET_CONFIGURE, P.DEVICE_VIEW, P.DEVICE_MANAGE}
    ),
}

# Which place kinds a role may be assigned on.
ROLE_PLACE_KINDS: dict[str, frozenset[str]] = {
    R.RESIDENT: frozenset({"dwelling"}),
    R.OWNERS_COMMITTEE: frozenset({"estate"}),
    R.PROPERTY_STAFF: frozenset({"estate", "community"}),
    R.GRID_WORKER: frozenset({"community"}),
    R.COMMUNITY_STAFF: frozenset({"community"}),
    R.STREET_ADMIN: frozenset({"street"}),
    R.DISTRICT_ADMIN: frozenset({"district"}),
    R.SYSTEM_ADMIN: frozenset({""}),  # global: no place
}


def role_can(role: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())
