"""The in-app inbox page: my messages, newest first, unread ones marked; reading one marks it read."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from linli.core.web import actor_of, paginate, staff_view

from . import actions, queries


@staff_view
def inbox(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    items = queries.own_inbox(actor)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        items = items.filter(read_at__isnull=True)
    return render(request, "notify/inbox.html", {
        "page": paginate(request, items), "unread": queries.unread_count(actor), "unread_only": unread_only,
    })


@staff_view
@require_POST
def read(request: HttpRequest, item_id: int) -> HttpResponse:
    actor = actor_of(request)
    actions.mark_read(actor=actor, item=queries.access_inbox_item(actor, item_id))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("notify:inbox")
    return redirect(target)
