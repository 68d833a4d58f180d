"""Indexes for a ticket pool of millions on PostgreSQL (bench/ticket_bench.py): nothing on SQLite.

- ``ticket_pool_recent``: newest-first order with every list filter and KPI column included, so the page's keys,
  bounded counts and the KPI aggregates are index-only scans (the table itself is 5x wider);
- ``ticket_scope_recent`` / ``ticket_status_scope_recent``: the scope's path prefix (``LIKE '/1/4/%'``; the
  pattern operator class, since a non-C collation cannot answer LIKE from a plain btree), then newest first, with
  the list filters included (bounded counts of a filtered scope read the index only);
- ``ticket_assignee_scope``: whether staff have tickets assigned outside their area (``queries.pool_scope``);
- ``ticket_words_ngram``: a GIN index of the characters and character pairs of the title and description
  (``linli_ngrams``), so a word search (``LIKE '%漏水%'``, Chinese words being mostly two characters, which
  trigram indexes cannot serve) first narrows to the tickets holding every pair of the word
  (``queries.search_tickets``), then checks the LIKE on those rows only.
"""

from django.db import migrations

INDEXES = {
    "ticket_pool_recent": "(created_at, id) INCLUDE (place_path, status, kind, category_id, organisation_id, "
                          "assignee_id, channel, response_overdue, resolution_overdue, resolved_at, reopen_count, "
                          "response_seconds, resolution_seconds)",
    "ticket_scope_recent": "(place_path varchar_pattern_ops, created_at, id) INCLUDE (status, kind, category_id, "
                           "organisation_id, assignee_id, channel, response_overdue, resolution_overdue)",
    "ticket_status_scope_recent": "(status, place_path varchar_pattern_ops, created_at, id) INCLUDE (kind, "
                                  "category_id, organisation_id, assignee_id, channel, response_overdue, "
                                  "resolution_overdue)",
    "ticket_assignee_scope": "(assignee_id) INCLUDE (place_path)",
    "ticket_words_ngram": "USING gin (linli_ngrams(title, description))",
}
# Every character and every pair of neighbouring characters of the title and the description (a line break
# between them, which no search holds, so no pair spans the two). plpgsql so that the planner never inlines it and
# the queries' call matches the index expression.
NGRAMS = """
CREATE OR REPLACE FUNCTION linli_ngrams(title text, description text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    s text := coalesce(title, '') || chr(10) || coalesce(description, '');
    grams text[];
BEGIN
    SELECT array_agg(DISTINCT g) INTO grams FROM (
        SELECT substr(s, i, 1) AS g FROM generate_series(1, char_length(s)) AS i
        UNION ALL
        SELECT substr(s, i, 2) FROM generate_series(1, char_length(s) - 1) AS i
    ) AS pieces;
    RETURN coalesce(grams, '{}');
END
$$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(NGRAMS)
    for name, body in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON tickets_ticket {body}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS linli_ngrams(text, text)")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_default_categories")]
    operations = [migrations.RunPython(create, drop)]
