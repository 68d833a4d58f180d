import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

# A fixed moment (local time Asia/Shanghai 2026-04-23 10:00) that tests pass as ``now``.
T0 = dt.datetime(2026, 4, 23, 10, 0, tzinfo=timezone.get_default_timezone())


@pytest.fixture(autouse=True)
def notify_settings(settings, tmp_path):
    """Known retry numbers, no jitter, the SMS log in a temporary file, no WeCom group unless a test sets one."""
    settings.LINLI_NOTIFY_MAX_ATTEMPTS = 5
    settings.LINLI_NOTIFY_RETRY_BASE_SECONDS = 30
    settings.LINLI_NOTIFY_RETRY_MAX_SECONDS = 3600
    settings.LINLI_NOTIFY_RETRY_JITTER = 0
    settings.LINLI_NOTIFY_LEASE_SECONDS = 120
    settings.LINLI_NOTIFY_FALLBACK = "sms:inapp,wecom:sms,email:inapp"
    settings.LINLI_SMS_PROVIDER = "log"
    settings.LINLI_SMS_LOG_FILE = str(tmp_path / "sms.log")
    settings.LINLI_SMS_SIGN_NAME = "邻里"
    settings.LINLI_SMS_TEMPLATE_CODES = ""
    settings.LINLI_WECOM_WEBHOOK_URL = ""
    settings.LINLI_WECOM_MSGTYPE = "text"
    settings.LINLI_WECOM_TIMEOUT = 2
    return settings


def sms_log_lines(settings) -> list[dict]:
    try:
        with open(settings.LINLI_SMS_LOG_FILE, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]
    except FileNotFoundError:
        return []


class Webhook:
    """A local HTTP server standing in for the WeCom robot: /ok, /fail (500), /slow (sleeps), /refuse (errcode)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                webhook.received.append((self.path, json.loads(self.rfile.read(length))))
                if self.path.startswith("/slow"):
                    time.sleep(1.0)
                if self.path.startswith("/fail"):
                    self._answer(500, b"busy")
                elif self.path.startswith("/refuse"):
                    self._answer(200, json.dumps({"errcode": 93000, "errmsg": "invalid webhook url"}).encode())
                else:
                    self._answer(200, json.dumps({"errcode": 0, "errmsg": "ok"}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}?key=secret-robot-key"


@pytest.fixture
def webhook():
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
