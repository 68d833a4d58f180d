"""The collector pause of bulk work: off inside, back on when the last holder leaves, never left off for good."""

from __future__ import annotations

import gc
import threading

import pytest

from linli.core import heap


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_given_the_collector_on_when_paused_then_it_is_off_inside_and_on_after(collector_on):
    with heap.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_given_an_error_inside_the_pause_then_the_collector_comes_back(collector_on):
    with pytest.raises(RuntimeError), heap.collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_given_the_collector_off_when_a_pause_ends_then_it_stays_off():
    was = gc.isenabled()
    gc.disable()
    try:
        with heap.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_given_two_threads_pausing_when_the_first_leaves_then_the_collector_stays_off_until_the_second_does(
        collector_on):
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with heap.collector_paused():
            inside.set()
            leave.wait(5)

    other = threading.Thread(target=hold)
    other.start()
    inside.wait(5)
    with heap.collector_paused():
        pass
    assert not gc.isenabled()  # the other thread still holds the pause
    leave.set()
    other.join()
    assert gc.isenabled()


def test_given_pauses_that_overlap_without_end_then_a_holder_leaving_past_the_limit_collects(collector_on,
                                                                                             monkeypatch):
    monkeypatch.setattr(heap, "PAUSED_MAX", 10)
    collected = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(a) or 0)
    with heap.collector_paused():
        with heap.collector_paused():
            cycles = []
            for _ in range(100):  # net allocations of tracked objects past the limit
                a, b = [], []
                a.append(b)
                b.append(a)
                cycles.append(a)
        assert collected == [()]
        assert not gc.isenabled()
    assert gc.isenabled()


def test_given_a_pause_when_a_cycle_is_dropped_inside_then_the_collector_frees_it_after(collector_on):
    import weakref

    class Node:
        pass

    with heap.collector_paused():
        node = Node()
        node.me = node
        ref = weakref.ref(node)
        del node
        kept = [[] for _ in range(10_000)]  # net allocations that would set off the collector: it stays off
        assert ref() is not None
    del kept
    gc.collect()
    assert ref() is None
