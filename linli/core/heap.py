"""Keeping Python's cyclic garbage collector out of the way of bulk work (device ingest, the event pipeline).

Reference counting frees almost everything such work makes the moment it is dropped; the cyclic collector only
finds objects in reference cycles. It runs whenever allocations outnumber deallocations by a threshold (700), and
every tenth and hundredth time it walks older objects too: while a batch of 10,000 events is in hand (its messages,
rows and records all alive at once) that meant thousands of passes over the batch and dozens of full ones, about a
sixth of the ingest process's CPU. ``collector_paused`` holds the collector off for the length of one batch; what
the batch left in cycles is found by the next pass after it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PAUSED_MAX = 1_000_000  # net allocations at which a pause that never ends (overlapping holders) collects anyway

_lock = threading.Lock()
_holders = 0
_resume = False  # whether the collector was on when the first holder paused it


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside the block (threads of one process share the collector: it comes back when
    the last of them leaves). Should holders overlap without end, a holder leaving after more than PAUSED_MAX net
    allocations collects once itself, so cycles never pile up unbounded. Does nothing to a collector that is off."""
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                if _resume:
                    gc.enable()
            elif _resume and gc.get_count()[0] > PAUSED_MAX:
                gc.collect()


def freeze_heap() -> None:
    """Keep what a long-running process holds from its start (Django, the modules and their tables) out of the
    cyclic garbage collector (``gc.freeze``): each full collection that a busy consumer's allocations trigger walked
    all of it again, about a tenth of the ingest process's CPU. What is made afterwards is collected as before."""
    gc.collect()
    gc.freeze()
