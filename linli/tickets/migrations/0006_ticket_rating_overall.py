"""The rating's overall score kept on the ticket (``Ticket.rating_overall``), filled from the existing ratings.

The KPIs count rated and satisfied tickets from the ticket's own column instead of joining ``tickets_rating``
(432,000 ratings hashed for half a million tickets in a district's year: ~290 ms of the KPI page). The action that
records a rating sets it in the same transaction; here the ratings already stored are copied over in one
set-based UPDATE (PostgreSQL's ``UPDATE ... FROM``; a correlated subquery elsewhere). Reversing removes the column.
"""

from django.db import migrations, models

POSTGRESQL = """
UPDATE tickets_ticket AS t SET rating_overall = r.overall
FROM tickets_rating AS r
WHERE r.ticket_id = t.id AND t.rating_overall IS DISTINCT FROM r.overall
"""
OTHER = """
UPDATE tickets_ticket SET rating_overall = (
    SELECT r.overall FROM tickets_rating AS r WHERE r.ticket_id = tickets_ticket.id)
WHERE EXISTS (SELECT 1 FROM tickets_rating AS r WHERE r.ticket_id = tickets_ticket.id
              AND (tickets_ticket.rating_overall IS NULL OR tickets_ticket.rating_overall <> r.overall))
"""


def statement(vendor: str) -> str:
    """The backfill's UPDATE for a database vendor (tests run it on rows written without the column's value)."""
    return POSTGRESQL if vendor == "postgresql" else OTHER


def backfill(apps, schema_editor):
    """Copy each rating's overall score onto its ticket (only the tickets whose value differs are written)."""
    schema_editor.execute(statement(schema_editor.connection.vendor))


class Migration(migrations.Migration):
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
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
