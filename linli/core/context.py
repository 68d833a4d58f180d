"""Per-request context (request id, client IP, channel) that actions copy into audit entries."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    via: str = "command"


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("linli_request", default=RequestContext())  # noqa: B039 (frozen)


def current() -> RequestContext:
    return _current.get()


def set_current(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def as_task(request_id: str = "") -> Iterator[None]:
    """Background work: audit entries written inside say ``via=task`` (and carry ``request_id`` when given)."""
    token = set_current(RequestContext(request_id=request_id, via="task"))
    try:
        yield
    finally:
        reset(token)
