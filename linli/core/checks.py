"""System checks for missing or inconsistent settings (ids linli.E00x errors, linli.W00x warnings)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def linli_settings(app_configs, **kwargs):
    problems = []
    production = settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
    if production and not os.environ.get("LINLI_SECRET_KEY"):
        problems.append(Error("LINLI_SECRET_KEY is not set", hint="Set a long random value shared by every web process.", id="linli.E001"))
    if production and (not settings.LINLI_FIELD_KEYS or not settings.LINLI_LOOKUP_KEY):
        problems.append(Warning(
            "LINLI_FIELD_KEYS / LINLI_LOOKUP_KEY are not set: keys are generated into var/keys.json on this machine only",
            hint="Several machines must share the same keys: set both variables (see .env.example).",
            id="linli.W002",
        ))
    if settings.LINLI_FIELD_KEYS:
        try:
            from .crypto import _parse_field_keys

            keys, _ = _parse_field_keys(settings.LINLI_FIELD_KEYS)
            if not keys:
                raise ValueError("no key")
        except Exception as exc:  # noqa: BLE001
            problems.append(Error(f"LINLI_FIELD_KEYS is malformed: {exc}", hint="Use id:base64key[,id:base64key...] with 32-byte keys.", id="linli.E003"))
    if settings.LINLI_MQTT_URL and not settings.LINLI_MQTT_URL.startswith(("mqtt://", "mqtts://")):
        problems.append(Error("LINLI_MQTT_URL must start with mqtt:// or mqtts://", id="linli.E004"))
    if settings.LINLI_REDIS_URL and not settings.LINLI_REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        problems.append(Error("LINLI_REDIS_URL must start with redis://, rediss:// or unix://", id="linli.E005"))
    if production and settings.LINLI_REDIS_URL == "":
        problems.append(Warning(
            "PostgreSQL without LINLI_REDIS_URL: the task queue stays in a local SQLite file",
            hint="Production runs workers on several machines: set LINLI_REDIS_URL.",
            id="linli.W006",
        ))
    return problems
