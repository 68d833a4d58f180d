"""The delivery channels, one module each. Add a channel: a module with a class following base.Channel, an
entry in choices.Channel and one line in CHANNELS."""

from __future__ import annotations

from .base import Channel, DeliveryFailure, PermanentFailure, TemporaryFailure
from .inapp import InAppChannel
from .mail import EmailChannel
from .sms import SmsChannel
from .wecom import WeComChannel

CHANNELS: dict[str, Channel] = {c.name: c for c in (InAppChannel(), SmsChannel(), WeComChannel(), EmailChannel())}


def channel(name: str) -> Channel:
    return CHANNELS[name]


__all__ = ["CHANNELS", "Channel", "DeliveryFailure", "PermanentFailure", "TemporaryFailure", "channel"]
