"""Materialized paths: computing them, and moving every scoped row when a subtree moves."""

from __future__ import annotations

import re

from django.apps import apps
from django.db.models import Value
from django.db.models.functions import Concat, Substr

_NUM = re.compile(r"\d+")


def natural_key(name: str) -> str:
    """'2栋' sorts before '10栋': digits are zero-padded in the stored sort key."""
    return _NUM.sub(lambda m: m.group(0).zfill(6), name)[:40]


def child_path(parent_path: str | None, pk: int) -> str:
    return f"{parent_path or '/'}{pk}/"


def scoped_models():
    """Every model that copies a place path (``place_path``), except the audit log, which keeps history."""
    for model in apps.get_models():
        if model._meta.label_lower == "core.auditentry":
            continue
        names = {f.name for f in model._meta.concrete_fields}
        if "place_path" in names:
            yield model


def rewrite_prefix(old_prefix: str, new_prefix: str) -> dict[str, int]:
    """Replace ``old_prefix`` by ``new_prefix`` in every place path and every scoped row's place_path."""
    from .models import Place

    counts: dict[str, int] = {}
    start = len(old_prefix) + 1
    counts["places.place"] = Place.objects.filter(path__startswith=old_prefix).update(
        path=Concat(Value(new_prefix), Substr("path", start))
    )
    for model in scoped_models():
        counts[model._meta.label_lower] = model.objects.filter(place_path__startswith=old_prefix).update(
            place_path=Concat(Value(new_prefix), Substr("place_path", start))
        )
    return counts
