"""SMS: a provider chosen by LINLI_SMS_PROVIDER.

- ``log`` (default, the embedded mode): appends one JSON line per message to LINLI_SMS_LOG_FILE; nothing leaves
  the machine.
- ``aliyun``: Alibaba Cloud SMS through the official SDK (``pip install linli[sms-aliyun]``).
- ``tencent``: Tencent Cloud SMS through the official SDK (``pip install linli[sms-tencent]``).

The cloud SDKs are imported only when their provider sends. Chinese SMS gateways send only templates approved
in advance: LINLI_SMS_TEMPLATE_CODES maps each Linli template to the provider's template code, and the values
listed in the catalog's ``sms_params`` are passed to it (Aliyun by name, Tencent by position).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

from linli.core.errors import ValidationFailed
from linli.core.identity import IdNumberError, mask_phone, normalize_mobile
from linli.notify.catalog import spec_for

from .base import PermanentFailure, TemporaryFailure, profile_of

_log_lock = threading.Lock()


def template_codes() -> dict[str, str]:
    """LINLI_SMS_TEMPLATE_CODES ("ticket.status_changed=SMS_123,alert.opened=SMS_456") as a dict."""
    codes: dict[str, str] = {}
    for item in settings.LINLI_SMS_TEMPLATE_CODES.split(","):
        key, sep, code = item.partition("=")
        if sep and key.strip() and code.strip():
            codes[key.strip()] = code.strip()
    return codes


def template_params(message: Any) -> dict[str, str]:
    spec = spec_for(message.template)
    names = spec.sms_params if spec else ()
    return {name: str(message.context.get(name, "")) for name in names}


def _provider_template(message: Any) -> str:
    code = template_codes().get(message.template)
    if not code:
        raise PermanentFailure(f"no SMS template code configured for {message.template!r} (LINLI_SMS_TEMPLATE_CODES)")
    return code


class LogFileProvider:
    """Appends the SMS to a log file under var/ instead of sending it: the embedded default, and what tests read."""

    name = "log"

    def send(self, phone: str, message: Any) -> str:
        path = Path(settings.LINLI_SMS_LOG_FILE)
        provider_id = f"log:{message.pk}:{message.attempts}"
        line = json.dumps({
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "id": provider_id,
            "message": message.pk,
            "phone": mask_phone(phone),
            "template": message.template,
            "params": template_params(message),
            "text": f"【{settings.LINLI_SMS_SIGN_NAME}】{message.body}",
        }, ensure_ascii=False)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _log_lock, path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise TemporaryFailure(f"cannot write the SMS log {path}: {exc}") from exc
        return provider_id


@contextmanager
def _sdk(extra: str) -> Iterator[None]:
    """Imports of an optional SDK: missing, it is a configuration error retrying cannot fix."""
    try:
        yield
    except ImportError as exc:
        raise PermanentFailure(f"the SMS SDK is not installed: pip install 'linli[{extra}]' ({exc})") from exc


def _status_of(exc: Exception) -> int | None:
    for attr in ("status_code", "statusCode"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    return None


class AliyunProvider:
    """Alibaba Cloud SMS (dysmsapi 2017-05-25) through ``alibabacloud_dysmsapi20170525``."""

    name = "aliyun"
    # Result codes worth another try; every other non-OK code is a refusal retrying cannot change.
    TEMPORARY_CODES = ("isp.", "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling")

    def _client(self) -> Any:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as openapi_models

        timeout_ms = int(settings.LINLI_SMS_TIMEOUT * 1000)
        config = openapi_models.Config(
            access_key_id=settings.LINLI_SMS_ALIYUN_ACCESS_KEY_ID,
            access_key_secret=settings.LINLI_SMS_ALIYUN_ACCESS_KEY_SECRET,
            endpoint=settings.LINLI_SMS_ALIYUN_ENDPOINT,
            protocol=settings.LINLI_SMS_ALIYUN_PROTOCOL,
            read_timeout=timeout_ms,
            connect_timeout=timeout_ms,
        )
        return Client(config)

    def send(self, phone: str, message: Any) -> str:
        code = _provider_template(message)
        with _sdk("sms-aliyun"):
            from alibabacloud_dysmsapi20170525 import models as sms_models

            client = self._client()
        request = sms_models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=settings.LINLI_SMS_SIGN_NAME,
            template_code=code,
            template_param=json.dumps(template_params(message), ensure_ascii=False),
            out_id=str(message.pk),
        )
        try:
            response = client.send_sms(request)
        except Exception as exc:  # noqa: BLE001 - the SDK raises its own classes for HTTP and network errors
            status = _status_of(exc)
            if status is not None and 400 <= status < 500 and status != 429:
                raise PermanentFailure(f"aliyun refused ({status}): {exc}") from exc
            raise TemporaryFailure(f"aliyun unreachable or failing: {exc}") from exc
        body = response.body
        if body.code == "OK":
            return str(body.biz_id)
        error = f"aliyun {body.code}: {body.message}"
        if str(body.code).startswith(self.TEMPORARY_CODES):
            raise TemporaryFailure(error)
        raise PermanentFailure(error)


class TencentProvider:
    """Tencent Cloud SMS (2021-01-11) through ``tencentcloud-sdk-python`` (its sms module)."""

    name = "tencent"
    TEMPORARY_CODES = ("InternalError", "LimitExceeded", "RequestLimitExceeded", "ClientNetworkError",
                       "ServerNetworkError", "FailedOperation.InsufficientBalanceInSmsPackage")

    def _client(self) -> Any:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        http = HttpProfile(protocol=settings.LINLI_SMS_TENCENT_PROTOCOL, endpoint=settings.LINLI_SMS_TENCENT_ENDPOINT,
                           reqTimeout=int(settings.LINLI_SMS_TIMEOUT))
        cred = credential.Credential(settings.LINLI_SMS_TENCENT_SECRET_ID, settings.LINLI_SMS_TENCENT_SECRET_KEY)
        return sms_client.SmsClient(cred, settings.LINLI_SMS_TENCENT_REGION, ClientProfile(httpProfile=http))

    def send(self, phone: str, message: Any) -> str:
        code = _provider_template(message)
        with _sdk("sms-tencent"):
            from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
            from tencentcloud.sms.v20210111 import models as sms_models

            client = self._client()
        request = sms_models.SendSmsRequest()
        request.SmsSdkAppId = settings.LINLI_SMS_TENCENT_APP_ID
        request.SignName = settings.LINLI_SMS_SIGN_NAME
        request.TemplateId = code
        request.TemplateParamSet = list(template_params(message).values())
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SessionContext = str(message.pk)
        try:
            response = client.SendSms(request)
        except TencentCloudSDKException as exc:
            error = f"tencent {exc.code}: {exc.message}"
            if str(exc.code).startswith(self.TEMPORARY_CODES):
                raise TemporaryFailure(error) from exc
            raise PermanentFailure(error) from exc
        status = response.SendStatusSet[0]
        if status.Code == "Ok":
            return str(status.SerialNo)
        error = f"tencent {status.Code}: {status.Message}"
        if str(status.Code).startswith(self.TEMPORARY_CODES):
            raise TemporaryFailure(error)
        raise PermanentFailure(error)


PROVIDERS: dict[str, Any] = {p.name: p for p in (LogFileProvider(), AliyunProvider(), TencentProvider())}


class SmsChannel:
    name = "sms"

    def address_for_user(self, user: Any) -> str | None:
        profile = profile_of(user)
        resident = getattr(profile, "resident", None) if profile is not None else None
        phone = getattr(resident, "phone", "") if resident is not None else ""
        return phone or None

    def check_address(self, raw: str) -> str:
        try:
            return normalize_mobile(raw)
        except IdNumberError as exc:
            raise ValidationFailed(exc.field_error("address")) from exc

    def mask(self, address: str) -> str:
        return mask_phone(address)

    def send(self, message: Any) -> str:
        provider = PROVIDERS.get(settings.LINLI_SMS_PROVIDER)
        if provider is None:
            raise PermanentFailure(f"unknown SMS provider {settings.LINLI_SMS_PROVIDER!r}")
        if not message.address:
            raise PermanentFailure("no phone number")
        return provider.send(message.address, message)
