"""Indexes for the resident list at scale (bench/resident_list_bench.py, 100,000 residents).

``people_resident_list_order`` holds the list's filter and order (status, then place_path, name, id): the first
page is read in index order with no sort, and the keys of a deep page are found by walking the index alone (the
API fetches the page's rows by key afterwards), so a page at offset 99,950 costs milliseconds instead of sorting
and joining every row before it.

Plain SQL (the same statement on SQLite and PostgreSQL) with no model state: the index is a storage detail of
this query, so makemigrations never proposes to drop it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("people", "0002_care_tags")]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX people_resident_list_order ON people_resident (status, place_path, name, id)",
            reverse_sql="DROP INDEX people_resident_list_order",
        ),
    ]
