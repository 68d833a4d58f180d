"""A dedicated ingest or worker process keeps its start-up heap out of the garbage collector's passes (gc.freeze);
code run inside another process (tests, the web server running tasks at once) never freezes that process's heap."""

from __future__ import annotations

import gc
import threading

import pytest

from linli.devices import mqtt, tasks


@pytest.fixture
def freezes(monkeypatch):
    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "collect", lambda *a: 0)
    monkeypatch.setattr(tasks, "_heap_frozen", False)
    return calls


def test_given_tasks_run_at_once_when_a_batch_task_starts_then_the_heap_is_not_frozen(freezes, monkeypatch):
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "_immediate", True)  # the flag only: the setter would swap storages
    tasks._freeze_heap_once()
    assert freezes == []


def test_given_a_worker_process_when_batch_tasks_start_then_the_heap_is_frozen_once(freezes, monkeypatch):
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "_immediate", False)
    tasks._freeze_heap_once()
    tasks._freeze_heap_once()
    assert freezes == ["freeze"]


def test_given_a_consumer_run_outside_the_main_thread_then_the_heap_is_not_frozen(freezes, monkeypatch):
    consumer = mqtt.Consumer(mqtt.MqttConfig(host="127.0.0.1", port=1, tls=False, username=None, password=None,
                                             group="g", client_id="c", generic_prefix="linli",
                                             frigate_prefix="frigate", session_expiry=60))
    monkeypatch.setattr(consumer, "connect", lambda: None)
    monkeypatch.setattr(consumer.client, "disconnect", lambda *a, **k: None)
    monkeypatch.setattr(consumer.client, "loop_stop", lambda *a, **k: None)
    stop = threading.Event()
    stop.set()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    thread.join()
    assert freezes == []
