"""The KPI rollup (PostgreSQL): the counts of the KPIs per local month, community, category, organisation and kind
(``KpiMonth``), kept by triggers on the tickets table, so that a district's year is summed from ~15,000 rows
instead of counted over half a million tickets.

The triggers are statement-level with transition tables: whatever writes tickets (an action, a bulk ``update()``
of the deadline sweeps, a COPY, a migration, psql) moves the rollup in the same statement and transaction, by the
difference of the rows' contributions before and after; one upsert per key touched, in key order (two statements
changing the same keys wait for each other instead of deadlocking). A ticket's contribution follows the
definitions of ``kpis`` (withdrawn tickets count nothing).

The months are local to the time zone written into the trigger function (settings.TIME_ZONE when it was
installed, recorded in ``KpiRollup``): the KPIs read the rollup only while the two agree, and ``linli kpi_rollup
--rebuild`` installs the function again and recounts every row. Elsewhere than PostgreSQL there is no rollup and
the KPIs count the tickets.

``kpis`` reads it for the months lying wholly inside a period (the days before and after them are counted from the
tickets), when every place that limits the figures (the actor's area, the place asked for, the parent whose
children are the rows) is a community or above it, and neither the assignee nor a daily or weekly trend is asked
for. The medians are never rolled up: they come from the tickets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connections

COUNT_COLUMNS = ("tickets", "rejected", "resolved", "closed", "on_time", "rated", "satisfied", "reopened",
                 "complaints", "complaints_closed")
KEY_COLUMNS = ("month", "area_path", "category_id", "organisation_id", "kind")
AREA_SEGMENTS = 3  # district / street / community: a ticket counts in its community's row
TABLE = "tickets_kpimonth"
STATE_TABLE = "tickets_kpirollup"
FUNCTION = "linli_ticket_kpi_rollup"
TRIGGERS = {"INSERT": "REFERENCING NEW TABLE AS new_rows",
            "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "DELETE": "REFERENCING OLD TABLE AS old_rows"}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _contribution(source: str, sign: int, zone: str) -> str:
    """The counts each row of ``source`` adds (``sign`` 1) or takes away (-1), with its key."""
    one = f"CASE WHEN r.status <> 'withdrawn' THEN {sign} ELSE 0 END"
    flags = {
        "tickets": "TRUE",
        "rejected": "r.status = 'rejected'",
        "resolved": "r.resolved_at IS NOT NULL",
        "closed": "r.status = 'closed'",
        "on_time": "r.resolved_at IS NOT NULL AND NOT r.response_overdue AND NOT r.resolution_overdue",
        "rated": "r.rating_overall IS NOT NULL",
        "satisfied": "COALESCE(r.rating_overall >= 4, FALSE)",
        "reopened": "r.reopen_count > 0",
        "complaints": "r.kind = 'complaint' AND r.status <> 'rejected'",
        "complaints_closed": "r.kind = 'complaint' AND r.status = 'closed'",
    }
    # "/1/4/17/90/" -> "/1/4/17/"; a shorter path stays whole
    parts = " || '/' || ".join(f"split_part(r.place_path, '/', {i + 2})" for i in range(AREA_SEGMENTS))
    area = (f"CASE WHEN split_part(r.place_path, '/', {AREA_SEGMENTS + 2}) = '' THEN r.place_path "
            f"ELSE '/' || {parts} || '/' END")
    counts = ", ".join(f"CASE WHEN {cond} THEN {one} ELSE 0 END AS {name}" for name, cond in flags.items())
    return (f"SELECT date_trunc('month', r.created_at AT TIME ZONE {_literal(zone)})::date AS month, "
            f"{area} AS area_path, r.category_id, r.organisation_id, r.kind, {counts} FROM {source} AS r")


def _upsert(parts: list[str]) -> str:
    keys = ", ".join(KEY_COLUMNS)
    sums = ", ".join(f"SUM({c}) AS {c}" for c in COUNT_COLUMNS)
    changed = " OR ".join(f"SUM({c}) <> 0" for c in COUNT_COLUMNS)
    updates = ", ".join(f"{c} = k.{c} + excluded.{c}" for c in COUNT_COLUMNS)
    return (f"INSERT INTO {TABLE} AS k ({keys}, {', '.join(COUNT_COLUMNS)}) "
            f"SELECT {keys}, {sums} FROM ({' UNION ALL '.join(parts)}) AS d GROUP BY {keys} HAVING {changed} "
            f"ORDER BY {keys} ON CONFLICT ({keys}) DO UPDATE SET {updates}")


def function_sql(zone: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $linli$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert([_contribution("new_rows", 1, zone)])};
    ELSIF TG_OP = 'UPDATE' THEN
        {_upsert([_contribution("old_rows", -1, zone), _contribution("new_rows", 1, zone)])};
    ELSE
        {_upsert([_contribution("old_rows", -1, zone)])};
    END IF;
    RETURN NULL;
END
$linli$"""


def _recount_sql(zone: str) -> str:
    return _upsert([_contribution("tickets_ticket", 1, zone)])


def install(connection: Any, zone: str | None = None) -> None:
    """(Re)create the trigger function for ``zone`` (default settings.TIME_ZONE) and the three triggers, and recount
    the rollup from the tickets, in the caller's transaction, with the tickets locked against writes meanwhile
    (PostgreSQL; nothing elsewhere)."""
    if connection.vendor != "postgresql":
        return
    zone = zone or settings.TIME_ZONE
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE tickets_ticket IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(function_sql(zone))
        for event, referencing in TRIGGERS.items():
            name = f"{FUNCTION}_{event.lower()}"
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON tickets_ticket")
            cursor.execute(f"CREATE TRIGGER {name} AFTER {event} ON tickets_ticket {referencing} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(_recount_sql(zone))
        cursor.execute(f"DELETE FROM {STATE_TABLE}")
        cursor.execute(f"INSERT INTO {STATE_TABLE} (zone, built_at) VALUES (%s, now())", [zone])


def uninstall(connection: Any) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for event in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION}_{event.lower()} ON tickets_ticket")
        cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


def available(db: str) -> bool:
    """True where the rollup can be read: PostgreSQL, installed for the current time zone."""
    connection = connections[db]
    if connection.vendor != "postgresql":
        return False
    from .models import KpiRollup

    return KpiRollup.objects.using(db).filter(zone=settings.TIME_ZONE).exists()


def within(path: str) -> bool:
    """Whether a place path (a scope, a place asked for, a parent of rows) is a community or above: its tickets are
    then whole rows of the rollup."""
    return path == "/" or path.count("/") - 1 <= AREA_SEGMENTS


def whole_months(since: dt.date, until: dt.date) -> tuple[dt.date, dt.date] | None:
    """The first day of the first month wholly inside [since, until] and the first day after the last such month;
    None when there is no whole month."""
    first = since if since.day == 1 else (since.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    end = (until + dt.timedelta(days=1)).replace(day=1)
    return (first, end) if first < end else None
