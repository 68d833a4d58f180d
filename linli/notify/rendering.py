"""Rendering message templates with Django's template engine, in the recipient's language.

A dedicated engine marks a missing variable instead of rendering it blank, so that a message whose context
lacks a value is refused when it is enqueued (naming the field), never sent as a half-empty SMS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError

from linli.core.errors import ErrorCollector, FieldError, ValidationFailed

from .catalog import spec_for
from .choices import Language

_MISSING = "\x00missing:%s\x00"
_MISSING_RE = re.compile("\x00missing:([^\x00]*)\x00")
SUBJECT_MAX = 200


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@cache
def _engine() -> Engine:
    # Plain text for SMS, WeCom and e-mail: no HTML escaping here (the inbox page escapes when it shows it).
    return Engine(dirs=[str(Path(__file__).resolve().parent / "templates")], string_if_invalid=_MISSING,
                  autoescape=False)


def normalize_language(value: str | None) -> str:
    return Language.EN if (value or "").lower().startswith("en") else Language.ZH


def _split(text: str) -> Rendered:
    subject, _, body = text.strip().partition("\n")
    return Rendered(subject=subject.strip()[:SUBJECT_MAX], body=body.strip())


def render(template: str, context: dict[str, Any], language: str) -> Rendered:
    """The subject (first line) and body of ``template`` in ``language``; raises ValidationFailed naming each
    missing context value as ``context.<name>``."""
    name = f"notify/messages/{template}.{normalize_language(language)}.txt"
    try:
        text = _engine().get_template(name).render(Context(context, autoescape=False))
    except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
        raise ValidationFailed(FieldError("template", "unknown", f"消息模板“{template}”不存在或有误",
                                          f"message template {template!r} is missing or broken")) from exc
    missing = sorted(set(_MISSING_RE.findall(text)))
    if missing:
        raise ValidationFailed([
            FieldError(f"context.{m}", "required", f"消息模板“{template}”需要“{m}”的值",
                       f"message template {template!r} needs a value for {m!r}")
            for m in missing
        ])
    return _split(text)


def validate(template: str, context: Any) -> None:
    """Refuse an unknown template, a context that is not a JSON object, or one missing a value any language needs."""
    errors = ErrorCollector()
    if spec_for(template) is None:
        errors.add("template", "unknown", f"消息模板“{template}”不存在", f"unknown message template {template!r}")
    if not isinstance(context, dict):
        errors.add("context", "not_object", "消息内容参数应为键值对象", "context must be a JSON object")
    else:
        try:
            json.dumps(context)
        except (TypeError, ValueError):
            errors.add("context", "not_json", "消息内容参数只能包含文字、数字、列表和对象",
                       "context may hold only strings, numbers, lists and objects")
    errors.raise_if_any()
    seen: set[str] = set()
    for language in Language.values:
        try:
            render(template, context, language)
        except ValidationFailed as exc:
            for error in exc.errors:
                if error.field not in seen:
                    seen.add(error.field)
                    errors.errors.append(error)
    errors.raise_if_any()
