"""map_in_threads: sync work side by side, bounded, in order, first error raised, rest cancelled."""

from __future__ import annotations

import threading
import time

import pytest

from workers_ai._threads import map_in_threads


class Gauge:
    """Counts the calls running at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.started: list[int] = []

    def work(self, item: int) -> int:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.started.append(item)
        time.sleep(0.02)  # long enough for the other threads to start if the limit allows
        with self.lock:
            self.running -= 1
        return item * item


def test_results_come_in_item_order_with_at_most_limit_at_once() -> None:
    gauge = Gauge()
    done: list[tuple[int, str]] = []
    items = list(range(12))
    results = map_in_threads(
        gauge.work, items, 3, on_done=lambda r: done.append((r, threading.current_thread().name))
    )
    assert results == [i * i for i in items]
    assert gauge.peak == 3
    assert sorted(r for r, _ in done) == results  # each result, once
    assert {name for _, name in done} == {threading.current_thread().name}  # the caller's thread


@pytest.mark.parametrize(("items", "limit"), [([5], 4), ([1, 2, 3], 1), ([], 4)])
def test_one_item_or_a_limit_of_one_runs_in_the_calling_thread(
    items: list[int], limit: int
) -> None:
    threads: set[str] = set()

    def work(item: int) -> int:
        threads.add(threading.current_thread().name)
        return -item

    done: list[int] = []
    assert map_in_threads(work, items, limit, on_done=done.append) == [-i for i in items]
    assert done == [-i for i in items]
    assert threads <= {threading.current_thread().name}


def test_the_first_error_is_raised_and_work_not_started_is_cancelled() -> None:
    gauge = Gauge()

    def work(item: int) -> int:
        if item == 0:
            raise ValueError("batch 0 refused")
        return gauge.work(item)

    with pytest.raises(ValueError, match="batch 0 refused"):
        map_in_threads(work, list(range(40)), 2)
    assert len(gauge.started) < 39  # the rest never ran
    assert gauge.running == 0  # what had started ended before the error reached us
