"""Which channels a message to a user goes out on, and when: defaults of the template, the user's preferences
(mute, opt in, quiet hours), the addresses the user has, and the fallback chain after a dead letter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from .catalog import TemplateSpec
from .channels import CHANNELS
from .choices import Channel
from .models import NotificationPreference

Prefs = dict[tuple[str, str], NotificationPreference]


@dataclass(frozen=True)
class Plan:
    channel: str
    address: str
    not_before: dt.datetime


def preferences_by_user(user_ids: Iterable[int], template: str) -> dict[int, Prefs]:
    """Each user's rows for ``template`` and for every template (""), in one query."""
    out: dict[int, Prefs] = {}
    rows = NotificationPreference.objects.filter(user_id__in=list(user_ids), template__in=[template, ""])
    for row in rows:
        out.setdefault(row.user_id, {})[(row.template, row.channel)] = row
    return out


def preference(prefs: Prefs, template: str, channel: str) -> NotificationPreference | None:
    return prefs.get((template, channel)) or prefs.get(("", channel))


def quiet_until(pref: NotificationPreference | None, now: dt.datetime) -> dt.datetime | None:
    """The end of the quiet hours ``now`` falls in (local time; a window may wrap midnight), or None."""
    if pref is None or pref.quiet_start is None or pref.quiet_end is None or pref.quiet_start == pref.quiet_end:
        return None
    local = timezone.localtime(now)
    t, start, end = local.time(), pref.quiet_start, pref.quiet_end
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return until if until > local else until + dt.timedelta(days=1)


def plan_for_user(user: Any, spec: TemplateSpec, prefs: Prefs, requested: str | None,
                  now: dt.datetime) -> list[Plan]:
    """The channels ``user`` gets ``spec`` on: the requested one, or the template's defaults plus the channels
    the user opted in to; minus muted channels and channels the user has no address on."""
    if requested:
        candidates = [requested]
    else:
        opted_in = [c for c in Channel.values if c not in spec.default_channels
                    and (p := preference(prefs, spec.key, c)) is not None and p.enabled]
        candidates = [*spec.default_channels, *opted_in]
    plans = []
    for name in candidates:
        plan = _plan_channel(user, spec, prefs, name, now)
        if plan is not None:
            plans.append(plan)
    return plans


def _plan_channel(user: Any, spec: TemplateSpec, prefs: Prefs, name: str, now: dt.datetime) -> Plan | None:
    pref = preference(prefs, spec.key, name)
    if pref is not None and not pref.enabled:
        return None
    address = CHANNELS[name].address_for_user(user)
    if address is None:
        return None
    deferred = None if spec.urgent else quiet_until(pref, now)
    return Plan(channel=name, address=address, not_before=deferred or now)


def fallback_map() -> dict[str, str]:
    """LINLI_NOTIFY_FALLBACK ("sms:inapp,wecom:sms,email:inapp") as {channel: fallback channel}."""
    out: dict[str, str] = {}
    for item in settings.LINLI_NOTIFY_FALLBACK.split(","):
        src, sep, dst = item.partition(":")
        if sep and src.strip() in Channel.values and dst.strip() in Channel.values:
            out[src.strip()] = dst.strip()
    return out


def plan_fallback(user: Any, spec: TemplateSpec, prefs: Prefs, used: set[str], dead_channel: str,
                  now: dt.datetime) -> Plan | None:
    """The next channel down the fallback chain from ``dead_channel`` that the message has not used yet and the
    user can receive (not muted, an address)."""
    chain = fallback_map()
    current = chain.get(dead_channel)
    visited: set[str] = set()
    while current is not None and current not in visited:
        visited.add(current)
        if current not in used:
            plan = _plan_channel(user, spec, prefs, current, now)
            if plan is not None:
                return plan
        current = chain.get(current)
    return None
