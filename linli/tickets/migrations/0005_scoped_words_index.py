"""The words' GIN index with the ticket's place in it, on PostgreSQL (bench/ticket_bench.py): nothing on SQLite.

``ticket_words_scoped`` indexes ``linli_scoped_ngrams``: the characters and character pairs of the title and
description (``linli_ngrams``, migration 0003) plus the path of the ticket's place and of each of its ancestors
("/1/", "/1/4/", "/1/4/17/", ...: three characters or more, so never a character pair). A word search of a street
or community (``queries.with_words_narrowed``) asks for the words' pairs and the scope's path in one index scan:
the index intersects the two posting lists itself, instead of a bitmap of the word's tickets all over the district
AND-ed with a bitmap of the scope's 80,000-300,000 tickets from a btree, and its count checks only the matches.
It replaces ``ticket_words_ngram`` (the same pairs without the place), which is dropped.
"""

from django.db import migrations

SCOPED = """
CREATE OR REPLACE FUNCTION linli_scoped_ngrams(title text, description text, place_path text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    parts text[] := string_to_array(trim(both '/' from coalesce(place_path, '')), '/');
    paths text[] := '{}';
    prefix text := '/';
BEGIN
    IF coalesce(place_path, '') <> '' THEN
        FOR i IN 1 .. coalesce(array_length(parts, 1), 0) LOOP
            prefix := prefix || parts[i] || '/';
            paths := paths || prefix;
        END LOOP;
    END IF;
    RETURN linli_ngrams(title, description) || paths;
END
$$
"""
INDEX = "ticket_words_scoped"
BODY = "USING gin (linli_scoped_ngrams(title, description, place_path))"
OLD = "ticket_words_ngram"
OLD_BODY = "USING gin (linli_ngrams(title, description))"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(SCOPED)
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON tickets_ticket {BODY}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {OLD} ON tickets_ticket {OLD_BODY}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute("DROP FUNCTION IF EXISTS linli_scoped_ngrams(text, text, text)")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_overdue_indexes")]
    operations = [migrations.RunPython(create, drop)]
