"""``linli rotate_keys``: re-encrypt every encrypted field that is not under the primary key yet.

Put the new key first in LINLI_FIELD_KEYS (keep the old ones after it), run this, then drop the old keys.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from linli.core import crypto
from linli.core.fields import EncryptedTextField


def encrypted_columns():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def rotate(batch: int = 2000) -> dict[str, int]:
    primary = crypto.keyring().primary
    counts: dict[str, int] = {}
    for model, field in encrypted_columns():
        table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
        qn = connection.ops.quote_name
        done = 0
        last = 0
        while True:
            with connection.cursor() as cur:
                cur.execute(
                    f"SELECT {qn(pk)}, {qn(column)} FROM {qn(table)} WHERE {qn(pk)} > %s AND {qn(column)} <> '' "
                    f"AND {qn(column)} NOT LIKE %s ORDER BY {qn(pk)} LIMIT %s",
                    [last, f"{crypto.PREFIX}:{primary}:%", batch],
                )
                rows = cur.fetchall()
            if not rows:
                break
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.executemany(
                        f"UPDATE {qn(table)} SET {qn(column)} = %s WHERE {qn(pk)} = %s AND {qn(column)} = %s",
                        [(crypto.encrypt(crypto.decrypt(raw)), row_pk, raw) for row_pk, raw in rows],
                    )
            done += len(rows)
            last = rows[-1][0]
        counts[f"{model._meta.label_lower}.{field.name}"] = done
    return counts


class Command(BaseCommand):
    help = "Re-encrypt personal data under the first key of LINLI_FIELD_KEYS."

    def handle(self, *args, **opts):
        for name, count in rotate().items():
            self.stdout.write(f"{name}: {count} re-encrypted")
