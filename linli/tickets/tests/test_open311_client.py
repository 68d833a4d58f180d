"""A real Open311 client, the ``georeport`` package from PyPI (0.3.1: reads only, it has no call for filing),
reading our server over a socket; its
answers also checked against the rules of the GeoReport JSON schema (string ids, open/closed, W3C zones)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from georeport import GeoReport

W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
WINDOW = {"start_date": "2026-04-01T00:00:00+08:00", "end_date": "2026-05-01T00:00:00+08:00"}


def check_request_schema(row: dict) -> None:
    assert isinstance(row["service_request_id"], str) and row["service_request_id"].isdigit()
    assert isinstance(row["service_code"], str)
    assert row["status"] in ("open", "closed")
    assert W3C.match(row["requested_datetime"]) and W3C.match(row["updated_datetime"])
    assert row["expected_datetime"] is None or W3C.match(row["expected_datetime"])
    assert isinstance(row["lat"], float) and isinstance(row["long"], float)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the signature of the base class
        return None


@pytest.fixture
def server_url(db, monkeypatch) -> Iterator[str]:
    """Our WSGI application on a real socket in a thread that shares the test's database connection (so the
    test's transaction is visible on PostgreSQL too, and rolled back afterwards); the client's calls block the
    test thread, so the connection is never used by both at once."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    connection = connections["default"]
    connection.inc_thread_sharing()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    server = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=QuietHandler)

    def serve() -> None:
        connections["default"] = connection
        server.serve_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        connection.dec_thread_sharing()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_given_a_live_server_when_georeport_reads_it_then_it_understands_every_answer(server_url, desk, fmt):
    from .conftest import T0

    ticket = desk.submit(now=T0)
    client = GeoReport(f"{server_url}/open311/v2", jurisdiction="421202001001", output_format=fmt)
    services = client.get_service_list()
    assert [s["service_code"] for s in services][:3] == ["water-power", "public-facilities", "sanitation"]
    definition = client.get_service_definition("noise")
    assert definition["service_code"] == "noise"
    one = client.get_service_request(str(ticket.pk))
    assert (one["service_request_id"], one["status"], one["address"]) == (str(ticket.pk), "open", "梅园社区祥和苑")
    rows = client.get_service_requests(start_date=WINDOW["start_date"], end_date=WINDOW["end_date"], status="open")
    rows = rows if isinstance(rows, list) else [rows]  # xmltodict gives a dict for a single element
    assert [r["service_request_id"] for r in rows] == [str(ticket.pk)]
    if fmt == "json":
        check_request_schema(rows[0])
        check_request_schema(one)
        assert all(isinstance(s["service_code"], str) and s["metadata"] is True for s in services)
