"""Channels against what they talk to: the SMS log file, Django's e-mail backend (locmem), a local HTTP server
standing in for the WeCom robot, and the cloud SMS SDKs when they are installed."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
from django.core.checks import run_checks

from linli.core.actor import Actor
from linli.notify.actions import enqueue_message, send_message
from linli.notify.channels.wecom import TEXT_LIMIT
from linli.notify.models import DeliveryAttempt

from .conftest import T0, sms_log_lines

SYSTEM = Actor.system("test")
ALERT = {"kind": "烟雾明火", "place": "祥和苑1栋", "level": "紧急", "time": "2026-04-23 10:00"}


def _one(**kw):
    [message] = enqueue_message(actor=SYSTEM, now=T0, **kw)
    return message


def test_the_log_provider_appends_one_json_line_with_masked_phone_params_and_signed_text(world, settings,
                                                                                         monkeypatch):
    for sdk in ("alibabacloud_dysmsapi20170525", "tencentcloud"):
        monkeypatch.setitem(sys.modules, sdk, None)  # importing a cloud SDK would fail the send
    settings.LINLI_SMS_SIGN_NAME = "梅园社区"
    message = _one(recipient=world.users["resident_a"], template="alert.opened", context=ALERT, channel="sms")
    send_message(message_id=message.pk, now=T0)
    [line] = sms_log_lines(settings)
    assert {k: v for k, v in line.items() if k != "at"} == {
        "id": f"log:{message.pk}:1",
        "message": message.pk,
        "phone": "138****8000",
        "template": "alert.opened",
        "params": {"kind": "烟雾明火", "place": "祥和苑1栋"},
        "text": "【梅园社区】2026-04-23 10:00 祥和苑1栋 发生告警：烟雾明火（级别：紧急）。请立即确认并处置。",
    }


def test_email_goes_through_djangos_backend(db, mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "linli@meiyuan.example"
    message = _one(address=" wang@example.cn ", channel="email", template="notify.test", context={"name": "Wang"},
                   language="en")
    sent = send_message(message_id=message.pk, now=T0)
    [mail] = mailoutbox
    assert (mail.subject, mail.body, mail.to, mail.from_email) == (
        "Test message", "Hello Wang, this is a test message from Linli.", ["wang@example.cn"], "linli@meiyuan.example")
    assert (sent.status, sent.provider_id, sent.address_mask) == ("sent", mail.extra_headers["Message-ID"], "w***@example.cn")


def test_wecom_posts_text_and_mentions_the_recipient_in_the_default_group(world, settings, webhook):
    settings.LINLI_WECOM_WEBHOOK_URL = webhook.url("/ok")
    message = _one(recipient=world.users["resident_a"], template="alert.opened", context=ALERT, channel="wecom")
    sent = send_message(message_id=message.pk, now=T0)
    assert (sent.status, sent.provider_id, sent.address_mask) == ("sent", f"wecom:{message.pk}", "default")
    assert webhook.received == [("/ok?key=secret-robot-key", {"msgtype": "text", "text": {
        "content": "【告警】祥和苑1栋：烟雾明火\n2026-04-23 10:00 祥和苑1栋 发生告警：烟雾明火（级别：紧急）。请立即确认并处置。",
        "mentioned_mobile_list": ["13800138000"]}})]


def test_wecom_markdown_to_a_raw_webhook_address(db, settings, webhook):
    settings.LINLI_WECOM_MSGTYPE = "markdown"
    message = _one(address=webhook.url("/ok"), channel="wecom", template="notify.test", context={"name": "值班群"})
    assert message.address_mask == webhook.url("/ok").split("?")[0]
    assert send_message(message_id=message.pk, now=T0).status == "sent"
    assert webhook.received == [("/ok?key=secret-robot-key", {"msgtype": "markdown", "markdown": {
        "content": "**测试消息**\n值班群，您好！这是一条来自邻里平台的测试消息。"}})]


def test_wecom_text_is_cut_to_the_robot_limit_on_a_character_boundary(db, webhook):
    message = _one(address=webhook.url("/ok"), channel="wecom", template="notify.test", context={"name": "长" * 1000})
    send_message(message_id=message.pk, now=T0)
    content = webhook.received[0][1]["text"]["content"]
    assert len(content.encode()) <= TEXT_LIMIT
    assert content.startswith("测试消息\n长长")


def test_wecom_500_is_a_temporary_failure_retried_with_back_off(db, webhook):
    message = _one(address=webhook.url("/fail"), channel="wecom", template="notify.test", context={"name": "x"})
    failed = send_message(message_id=message.pk, now=T0)
    assert (failed.status, failed.last_error, failed.next_attempt_at) == (
        "failed", "wecom HTTP 500", T0 + dt.timedelta(seconds=30))
    assert len(webhook.received) == 1


def test_wecom_timeout_is_a_temporary_failure(db, settings, webhook):
    settings.LINLI_WECOM_TIMEOUT = 0.2
    message = _one(address=webhook.url("/slow"), channel="wecom", template="notify.test", context={"name": "x"})
    failed = send_message(message_id=message.pk, now=T0)
    assert failed.status == "failed"
    assert failed.last_error.startswith("wecom unreachable: ")
    assert "timed out" in failed.last_error
    assert DeliveryAttempt.objects.get().outcome == "temporary"


def test_wecom_refusal_is_permanent(db, webhook):
    message = _one(address=webhook.url("/refuse"), channel="wecom", template="notify.test", context={"name": "x"})
    dead = send_message(message_id=message.pk, now=T0)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 1, "wecom errcode 93000: invalid webhook url")


def test_a_closed_port_is_a_temporary_failure(db, webhook):
    url = webhook.url("/ok")
    webhook.server.server_close()
    webhook.server.shutdown()
    message = _one(address=url, channel="wecom", template="notify.test", context={"name": "x"})
    assert send_message(message_id=message.pk, now=T0).status == "failed"


def test_a_user_cannot_get_wecom_without_a_configured_group(world):
    assert enqueue_message(actor=SYSTEM, recipient=world.users["resident_a"], template="notify.test",
                           context={"name": "x"}, channel="wecom") == []


def _ids(settings) -> set[str]:
    return {m.id for m in run_checks() if m.id.startswith("notify.")}


def test_system_checks_name_missing_sms_credentials_and_bad_settings(settings):
    assert _ids(settings) == set()
    settings.LINLI_SMS_PROVIDER = "aliyun"
    assert {"notify.E002", "notify.W004"} <= _ids(settings)
    settings.LINLI_SMS_PROVIDER = "carrier-pigeon"
    settings.LINLI_SMS_TEMPLATE_CODES = "ticket.status_changed=SMS_1,nope=SMS_2"
    settings.LINLI_WECOM_WEBHOOK_URL = "robot.example"
    settings.LINLI_WECOM_MSGTYPE = "image"
    settings.LINLI_NOTIFY_FALLBACK = "sms:pager"
    settings.LINLI_NOTIFY_MAX_ATTEMPTS = 0
    assert _ids(settings) == {"notify.E001", "notify.W005", "notify.E006", "notify.E007", "notify.E008",
                              "notify.E009"}


# --- the cloud SDKs, against a local HTTP server (run where the optional extras are installed) ---------------

class _SdkServer:
    """Answers every request with a fixed JSON body and keeps what it received."""

    def __init__(self, body: bytes) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                owner.requests.append((self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sdk_server(request):
    server = _SdkServer(request.param)
    yield server
    server.close()


@pytest.mark.parametrize("sdk_server", [b'{"Code":"OK","Message":"OK","BizId":"900619746936498440^0","RequestId":"r1"}'],
                         indirect=True)
def test_aliyun_sdk_sends_the_template_and_params(world, settings, sdk_server):
    pytest.importorskip("alibabacloud_dysmsapi20170525")
    settings.LINLI_SMS_PROVIDER = "aliyun"
    settings.LINLI_SMS_ALIYUN_ACCESS_KEY_ID, settings.LINLI_SMS_ALIYUN_ACCESS_KEY_SECRET = "id", "secret"
    settings.LINLI_SMS_ALIYUN_ENDPOINT, settings.LINLI_SMS_ALIYUN_PROTOCOL = sdk_server.endpoint, "http"
    settings.LINLI_SMS_TEMPLATE_CODES = "alert.opened=SMS_465"
    message = _one(recipient=world.users["resident_a"], template="alert.opened", context=ALERT, channel="sms")
    sent = send_message(message_id=message.pk, now=T0)
    assert (sent.status, sent.provider_id) == ("sent", "900619746936498440^0")
    from urllib.parse import parse_qs, urlsplit

    query = {k: v[0] for k, v in parse_qs(urlsplit(sdk_server.requests[0][0]).query).items()}
    assert (query["PhoneNumbers"], query["TemplateCode"], query["SignName"], query["OutId"]) == (
        "13800138000", "SMS_465", "邻里", str(message.pk))
    assert json.loads(query["TemplateParam"]) == {"kind": "烟雾明火", "place": "祥和苑1栋"}


@pytest.mark.parametrize("sdk_server", [b'{"Response":{"SendStatusSet":[{"SerialNo":"2433:1","PhoneNumber":'
                                        b'"+8613800138000","Fee":1,"SessionContext":"","Code":"Ok","Message":'
                                        b'"send success","IsoCode":"CN"}],"RequestId":"r2"}}'], indirect=True)
def test_tencent_sdk_sends_the_template_and_params(world, settings, sdk_server):
    pytest.importorskip("tencentcloud.sms.v20210111")
    settings.LINLI_SMS_PROVIDER = "tencent"
    settings.LINLI_SMS_TENCENT_SECRET_ID, settings.LINLI_SMS_TENCENT_SECRET_KEY = "id", "key"
    settings.LINLI_SMS_TENCENT_APP_ID = "1400000000"
    settings.LINLI_SMS_TENCENT_ENDPOINT, settings.LINLI_SMS_TENCENT_PROTOCOL = sdk_server.endpoint, "http"
    settings.LINLI_SMS_TEMPLATE_CODES = "alert.opened=1234567"
    message = _one(recipient=world.users["resident_a"], template="alert.opened", context=ALERT, channel="sms")
    sent = send_message(message_id=message.pk, now=T0)
    assert (sent.status, sent.provider_id) == ("sent", "2433:1")
    body = json.loads(sdk_server.requests[0][1])
    assert (body["TemplateId"], body["TemplateParamSet"], body["PhoneNumberSet"], body["SmsSdkAppId"]) == (
        "1234567", ["烟雾明火", "祥和苑1栋"], ["+8613800138000"], "1400000000")


def _aliyun(settings, endpoint: str) -> None:
    settings.LINLI_SMS_PROVIDER = "aliyun"
    settings.LINLI_SMS_ALIYUN_ACCESS_KEY_ID, settings.LINLI_SMS_ALIYUN_ACCESS_KEY_SECRET = "id", "secret"
    settings.LINLI_SMS_ALIYUN_ENDPOINT, settings.LINLI_SMS_ALIYUN_PROTOCOL = endpoint, "http"
    settings.LINLI_SMS_TEMPLATE_CODES = "notify.test=SMS_1"


@pytest.mark.parametrize(("sdk_server", "status"), [
    (b'{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"limit","RequestId":"r"}', "failed"),
    (b'{"Code":"isp.SYSTEM_ERROR","Message":"busy","RequestId":"r"}', "failed"),
    (b'{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"bad number","RequestId":"r"}', "dead"),
], indirect=["sdk_server"])
def test_aliyun_result_codes_decide_retry_or_dead_letter(world, settings, sdk_server, status):
    pytest.importorskip("alibabacloud_dysmsapi20170525")
    _aliyun(settings, sdk_server.endpoint)
    message = _one(address="13800138000", channel="sms", template="notify.test", context={"name": "x"})
    assert send_message(message_id=message.pk, now=T0).status == status


@pytest.mark.parametrize(("sdk_server", "status"), [
    (b'{"Response":{"SendStatusSet":[{"SerialNo":"","Code":"LimitExceeded.PhoneNumberDailyLimit",'
     b'"Message":"daily limit"}],"RequestId":"r"}}', "failed"),
    (b'{"Response":{"SendStatusSet":[{"SerialNo":"","Code":"InvalidParameterValue.IncorrectPhoneNumber",'
     b'"Message":"bad number"}],"RequestId":"r"}}', "dead"),
    (b'{"Response":{"Error":{"Code":"AuthFailure.SecretIdNotFound","Message":"no such id"},"RequestId":"r"}}',
     "dead"),
    (b'{"Response":{"Error":{"Code":"InternalError.Timeout","Message":"slow"},"RequestId":"r"}}', "failed"),
], indirect=["sdk_server"])
def test_tencent_result_codes_decide_retry_or_dead_letter(world, settings, sdk_server, status):
    pytest.importorskip("tencentcloud.sms.v20210111")
    settings.LINLI_SMS_PROVIDER = "tencent"
    settings.LINLI_SMS_TENCENT_SECRET_ID, settings.LINLI_SMS_TENCENT_SECRET_KEY = "id", "key"
    settings.LINLI_SMS_TENCENT_APP_ID = "1400000000"
    settings.LINLI_SMS_TENCENT_ENDPOINT, settings.LINLI_SMS_TENCENT_PROTOCOL = sdk_server.endpoint, "http"
    settings.LINLI_SMS_TEMPLATE_CODES = "notify.test=1"
    message = _one(address="13800138000", channel="sms", template="notify.test", context={"name": "x"})
    assert send_message(message_id=message.pk, now=T0).status == status


def test_a_configured_sdk_that_is_not_installed_is_a_dead_letter_naming_the_extra(db, settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "alibabacloud_dysmsapi20170525", None)  # import fails as if not installed
    _aliyun(settings, "127.0.0.1:9")
    message = _one(address="13800138000", channel="sms", template="notify.test", context={"name": "x"})
    dead = send_message(message_id=message.pk, now=T0)
    assert dead.status == "dead"
    assert "pip install 'linli[sms-aliyun]'" in dead.last_error
