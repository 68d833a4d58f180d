"""The rating's overall score kept on the ticket (``Ticket.rating_overall``), filled from the existing ratings.

The KPIs count rated and satisfied tickets from the ticket's own column instead of joining ``tickets_rating``
(432,000 ratings hashed for half a million tickets in a district's year: ~290 ms of the KPI page). The action that
records a rating sets it in the same transaction; here the ratings already stored are copied over by set-based
UPDATEs (PostgreSQL's ``UPDATE ... FROM``; a correlated subquery elsewhere), one range of ticket ids at a time,
each committed on its own (the migration is not atomic): one UPDATE of a million tickets held the table's write lock
for about four minutes, these hold it per range only. A run cut short is simply run again (only the tickets whose
value differs are written). Reversing removes the column.
"""

from django.db import migrations, models

POSTGRESQL = """
UPDATE tickets_ticket AS t SET rating_overall = r.overall
FROM tickets_rating AS r
WHERE r.ticket_id = t.id AND t.rating_overall IS DISTINCT FROM r.overall{range}
"""
OTHER = """
UPDATE tickets_ticket SET rating_overall = (
    SELECT r.overall FROM tickets_rating AS r WHERE r.ticket_id = tickets_ticket.id)
WHERE EXISTS (SELECT 1 FROM tickets_rating AS r WHERE r.ticket_id = tickets_ticket.id
              AND (tickets_ticket.rating_overall IS NULL OR tickets_ticket.rating_overall <> r.overall)){range}
"""
CHUNK = 20_000  # ticket ids per UPDATE


def statement(vendor: str, low: int | None = None, high: int | None = None) -> str:
    """The backfill's UPDATE for a database vendor, for the tickets with low <= id < high when given (tests run it
    on rows written without the column's value)."""
    table = "t" if vendor == "postgresql" else "tickets_ticket"
    bounds = "" if low is None else f" AND {table}.id >= {int(low)} AND {table}.id < {int(high)}"
    return (POSTGRESQL if vendor == "postgresql" else OTHER).format(range=bounds)


def backfill(apps, schema_editor):
    """Copy each rating's overall score onto its ticket (only the tickets whose value differs are written), one
    range of ids per statement, each committed on its own."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT min(ticket_id), max(ticket_id) FROM tickets_rating")
        first, last = cursor.fetchone()
    if first is None:
        return
    for low in range(first, last + 1, CHUNK):
        schema_editor.execute(statement(schema_editor.connection.vendor, low, low + CHUNK))


class Migration(migrations.Migration):
    atomic = False  # each range of the backfill commits on its own

    dependencies = [
        ("tickets", "0005_scoped_words_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="rating_overall",
            field=models.PositiveSmallIntegerField(
                blank=True, editable=False, null=True,
                help_text="the overall score (1-5) of the ticket's rating, set with it: the KPIs count without a join"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True, atomic=False),
    ]
