"""Partial indexes of the overdue tickets on PostgreSQL (bench/ticket_bench.py): nothing on SQLite.

The list's ``overdue=true`` filter (either deadline missed) kept a few tickets in ten of the newest-first index,
so a page of overdue complaints and its bounded count read a district's index far back. These hold the overdue
tickets only (the list's condition ``response_overdue OR resolution_overdue`` is their predicate, so the planner
can use them), newest first, with the list's filters included:

- ``ticket_overdue_recent``: newest first;
- ``ticket_overdue_kind_recent``: by kind, then newest first (overdue complaints, the 海纳尔 case's first concern).
"""

from django.db import migrations

COLUMNS = "INCLUDE (place_path, status, kind, category_id, organisation_id, assignee_id, channel)"
PREDICATE = "WHERE response_overdue OR resolution_overdue"
INDEXES = {
    "ticket_overdue_recent": f"(created_at, id) {COLUMNS} {PREDICATE}",
    "ticket_overdue_kind_recent": f"(kind, created_at, id) {COLUMNS} {PREDICATE}",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, body in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON tickets_ticket {body}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_bench_indexes")]
    operations = [migrations.RunPython(create, drop)]
