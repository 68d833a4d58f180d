"""The message templates Linli sends: which channels each uses by default and what its SMS template takes.

The text itself lives in ``templates/notify/messages/<key>.<language>.txt``: the first line is the subject,
the rest the body. A template is added by one entry here and its two text files (zh-hans and en).
"""

from __future__ import annotations

from dataclasses import dataclass

from .choices import Channel


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    label_zh: str
    label_en: str
    default_channels: tuple[str, ...]
    # The context values given, in this order, to a provider's SMS template (Aliyun by name, Tencent by position).
    sms_params: tuple[str, ...] = ()
    # Urgent messages ignore quiet hours (a fall alarm at 3 a.m. must ring).
    urgent: bool = False


CATALOG: dict[str, TemplateSpec] = {
    spec.key: spec
    for spec in (
        TemplateSpec("ticket.status_changed", "工单状态变更", "ticket status changed",
                     (Channel.INAPP, Channel.SMS), sms_params=("number", "status")),
        TemplateSpec("ticket.assigned", "工单指派", "ticket assigned to me",
                     (Channel.INAPP, Channel.SMS), sms_params=("number", "title")),
        TemplateSpec("ticket.deadline", "工单即将超时", "ticket deadline near or passed",
                     (Channel.INAPP, Channel.WECOM), sms_params=("number", "deadline")),
        TemplateSpec("alert.opened", "告警", "alert opened",
                     (Channel.INAPP, Channel.SMS), sms_params=("kind", "place"), urgent=True),
        TemplateSpec("alert.escalated", "告警升级", "alert escalated",
                     (Channel.INAPP, Channel.SMS), sms_params=("kind", "place"), urgent=True),
        TemplateSpec("alert.status_changed", "告警状态变更", "alert status changed", (Channel.INAPP,)),
        TemplateSpec("care.not_seen", "久未出门提醒", "resident not seen",
                     (Channel.INAPP, Channel.SMS), sms_params=("name", "hours")),
        TemplateSpec("notice.published", "通知公告", "notice published", (Channel.INAPP,)),
        TemplateSpec("notify.test", "测试消息", "test message", (Channel.INAPP,), sms_params=("name",)),
    )
}


def spec_for(key: str) -> TemplateSpec | None:
    return CATALOG.get(key)
