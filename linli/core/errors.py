"""Domain errors. Every error names the field and the reason, in Chinese and in English.

Endpoints turn them into HTTP answers: ValidationFailed -> 422, NotFound -> 404, Conflict -> 409,
PermissionDenied -> 403 (only for actions on rows the actor can see; rows outside scope are NotFound).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}


class DomainError(Exception):
    status = 400
    code = "error"

    def __init__(self, message_zh: str, message_en: str, *, errors: list[FieldError] | None = None, code: str | None = None):
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        self.errors = errors or []
        if code:
            self.code = code

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "errors": [e.as_dict() for e in self.errors],
        }


class ValidationFailed(DomainError):
    status = 422
    code = "invalid"

    def __init__(self, errors: list[FieldError] | FieldError):
        if isinstance(errors, FieldError):
            errors = [errors]
        zh = "；".join(f"{e.field}：{e.message_zh}" for e in errors)
        en = "; ".join(f"{e.field}: {e.message_en}" for e in errors)
        super().__init__(zh, en, errors=errors)


def invalid(field: str, code: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(FieldError(field, code, zh, en))


class NotFound(DomainError):
    status = 404
    code = "not_found"

    def __init__(self, what: str = "object"):
        super().__init__("未找到该记录", f"{what} not found")


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"

    def __init__(self, permission: str = ""):
        super().__init__("您的角色无权执行此操作", f"your role may not do this ({permission})" if permission else "your role may not do this")


@dataclass
class ErrorCollector:
    """Gathers field errors so a form or a row reports all of its problems at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, code: str, zh: str, en: str) -> None:
        self.errors.append(FieldError(field_name, code, zh, en))

    def extend(self, exc: ValidationFailed) -> None:
        self.errors.extend(exc.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(list(self.errors))
