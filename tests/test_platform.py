"""The platform as an operator sees it: health endpoint, the configured database, the real task queues."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.db import connection

IN_CI = os.environ.get("CI") == "true"


@pytest.mark.django_db
def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["vendor"] == connection.vendor
    assert body["queue"]["status"] == "ok"
    assert body["consumer"]["status"] in {"ok", "unknown"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_queue_is_unreachable(client, monkeypatch):
    from huey.contrib.djhuey import HUEY

    def broken():
        raise ConnectionError("queue down")

    monkeypatch.setattr(HUEY, "pending_count", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["queue"]["status"] == "error"


def test_the_suite_runs_on_the_database_ci_asked_for():
    expected = os.environ.get("LINLI_EXPECT_DB")
    if not expected:
        pytest.skip("LINLI_EXPECT_DB not set (set by .ci/run)")
    assert connection.vendor == expected


def test_tests_run_tasks_inline():
    assert settings.HUEY["immediate"] is True


def _run_one_task_through(huey_instance) -> None:
    """Enqueue a real task, take it off the real queue as a consumer does, and check its effect."""
    marker: list[str] = []

    @huey_instance.task()
    def remember(value):
        marker.append(value)

    huey_instance.flush()
    token = uuid.uuid4().hex
    remember(token)
    assert huey_instance.pending_count() == 1
    task = huey_instance.dequeue()
    huey_instance.execute(task)
    assert marker == [token]
    assert huey_instance.pending_count() == 0


def test_sqlite_queue_delivers_a_task(tmp_path):
    from huey import SqliteHuey

    _run_one_task_through(SqliteHuey("linli-test", filename=str(tmp_path / "q.sqlite3"), results=False))


def test_redis_queue_delivers_a_task():
    url = os.environ.get("LINLI_TEST_REDIS_URL") or settings.LINLI_REDIS_URL
    if not url:
        if IN_CI:
            pytest.fail("CI must provide Redis (LINLI_TEST_REDIS_URL)")
        pytest.skip("no Redis configured (LINLI_TEST_REDIS_URL)")
    from huey import RedisHuey

    _run_one_task_through(RedisHuey(f"linli-test-{uuid.uuid4().hex[:8]}", url=url, results=False))


def test_system_checks_name_bad_settings(settings):
    settings.LINLI_REDIS_URL = "http://wrong"
    settings.LINLI_MQTT_URL = "tcp://wrong"
    ids = {m.id for m in run_checks()}
    assert {"linli.E004", "linli.E005"} <= ids


@pytest.mark.django_db
def test_the_consumer_heartbeat_is_a_periodic_task_the_consumer_finds_and_healthz_reports_it(client):
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")  # what `linli run_huey` does before it starts the scheduler
    periodic = {t.__name__ for t in HUEY._registry._periodic_tasks}
    assert {"consumer_heartbeat", "sweep_outbox", "sweep_import_jobs"} <= periodic
    from linli.core.tasks import consumer_heartbeat

    consumer_heartbeat.call_local()
    body = json.loads(client.get("/healthz").content)
    assert body["consumer"]["status"] == "ok"
