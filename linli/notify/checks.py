"""System checks of the notification settings (ids notify.E00x errors, notify.W00x warnings)."""

from __future__ import annotations

import importlib.util
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register

from .catalog import CATALOG
from .choices import Channel

SDK_MODULES = {"aliyun": "alibabacloud_dysmsapi20170525", "tencent": "tencentcloud.sms"}
SDK_EXTRAS = {"aliyun": "sms-aliyun", "tencent": "sms-tencent"}
CREDENTIALS = {
    "aliyun": ("LINLI_SMS_ALIYUN_ACCESS_KEY_ID", "LINLI_SMS_ALIYUN_ACCESS_KEY_SECRET"),
    "tencent": ("LINLI_SMS_TENCENT_SECRET_ID", "LINLI_SMS_TENCENT_SECRET_KEY", "LINLI_SMS_TENCENT_APP_ID"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _sms_problems() -> list:
    provider = settings.LINLI_SMS_PROVIDER
    if provider == "log":
        return []
    if provider not in SDK_MODULES:
        return [Error(f"LINLI_SMS_PROVIDER={provider!r} is unknown", hint="Use log, aliyun or tencent.", id="notify.E001")]
    problems: list = []
    missing = [name for name in CREDENTIALS[provider] if not getattr(settings, name)]
    if missing:
        problems.append(Error(f"SMS provider {provider} needs {', '.join(missing)}", id="notify.E002"))
    if not _installed(SDK_MODULES[provider]):
        problems.append(Error(f"SMS provider {provider}: its SDK is not installed",
                              hint=f"pip install 'linli[{SDK_EXTRAS[provider]}]'", id="notify.E003"))
    if not settings.LINLI_SMS_TEMPLATE_CODES:
        problems.append(Warning("LINLI_SMS_TEMPLATE_CODES is empty: every SMS will be refused by the provider",
                                hint="Map each template to the provider's approved template code.", id="notify.W004"))
    return problems


def _template_code_problems() -> list:
    unknown = []
    for item in filter(None, (i.strip() for i in settings.LINLI_SMS_TEMPLATE_CODES.split(","))):
        key, sep, code = item.partition("=")
        if not sep or not code.strip() or key.strip() not in CATALOG:
            unknown.append(item)
    if unknown:
        return [Warning(f"LINLI_SMS_TEMPLATE_CODES has entries that are malformed or name no template: {unknown}",
                        hint=f"Use key=code pairs with keys among {sorted(CATALOG)}.", id="notify.W005")]
    return []


def _other_problems() -> list:
    problems: list = []
    url = settings.LINLI_WECOM_WEBHOOK_URL
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        problems.append(Error("LINLI_WECOM_WEBHOOK_URL must be an http(s) URL", id="notify.E006"))
    if settings.LINLI_WECOM_MSGTYPE not in ("text", "markdown"):
        problems.append(Error("LINLI_WECOM_MSGTYPE must be text or markdown", id="notify.E007"))
    for item in filter(None, (i.strip() for i in settings.LINLI_NOTIFY_FALLBACK.split(","))):
        src, sep, dst = item.partition(":")
        if not sep or src.strip() not in Channel.values or dst.strip() not in Channel.values:
            problems.append(Error(f"LINLI_NOTIFY_FALLBACK entry {item!r} is not channel:channel",
                                  hint=f"Channels: {', '.join(Channel.values)}.", id="notify.E008"))
    if settings.LINLI_NOTIFY_MAX_ATTEMPTS < 1:
        problems.append(Error("LINLI_NOTIFY_MAX_ATTEMPTS must be at least 1", id="notify.E009"))
    return problems


@register()
def notify_settings(app_configs, **kwargs):
    return [*_sms_problems(), *_template_code_problems(), *_other_problems()]
