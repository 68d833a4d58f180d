"""Helpers shared by the server-rendered console: who acts, domain errors as HTTP answers and form errors,
messages in the active language."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from .actor import Actor
from .errors import DomainError, FieldError, NotFound, PermissionDenied, ValidationFailed

PAGE_SIZE = 30


def actor_of(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


def in_english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def localized(zh: str, en: str) -> str:
    """The Chinese or English text, following the active language (Chinese is the default)."""
    return en if in_english() else zh


def message_of(error: DomainError | FieldError) -> str:
    return localized(error.message_zh, error.message_en)


def staff_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required; rows outside the actor's scope answer 404, forbidden actions on visible rows 403, and any
    other domain error (a conflict, invalid input the page did not catch) its own status with the reason."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(message_of(exc)) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(message_of(exc)) from exc
        except DomainError as exc:
            return render(request, "error.html", {"error": exc}, status=exc.status)

    return login_required(wrapper)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def add_domain_errors(form: forms.Form, exc: ValidationFailed, aliases: dict[str, str] | None = None) -> None:
    """Put each field error of a domain validation on the form field it names (or on the form as a whole)."""
    aliases = aliases or {}
    for error in exc.errors:
        name = aliases.get(error.field, error.field)
        form.add_error(name if name in form.fields else None, message_of(error))


def paginate(request: HttpRequest, items: Any, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))
