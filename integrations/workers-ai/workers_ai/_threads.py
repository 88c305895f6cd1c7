"""Sync calls side by side: a few requests in flight from synchronous code.

Embedding a corpus is many independent requests, each mostly waiting on the network; sending
them one after another makes a sync caller wait for every round trip in turn. httpx's sync
client is thread-safe (one pool, locked), so threads give sync code what ``asyncio.gather``
gives async code, with the same bound on requests in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def map_in_threads(
    work: Callable[[_T], _R],
    items: Sequence[_T],
    limit: int,
    on_done: Callable[[_R], object] | None = None,
) -> list[_R]:
    """``work(item)`` for every item, at most ``limit`` at once; the results in item order.

    ``on_done(result)`` runs in the calling thread as each item's work ends (a progress bar).
    The first error raised is raised here once the work already running has ended; work not
    started yet is cancelled. One item, or a limit of 1, runs in the calling thread alone.
    """
    if limit < 2 or len(items) < 2:
        results = []
        for item in items:
            results.append(work(item))
            if on_done is not None:
                on_done(results[-1])
        return results
    with ThreadPoolExecutor(min(limit, len(items)), thread_name_prefix="workers-ai") as pool:
        futures: list[Future[_R]] = [pool.submit(work, item) for item in items]
        try:
            for future in as_completed(futures):
                result = future.result()  # the first error ends the wait
                if on_done is not None:
                    on_done(result)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return [future.result() for future in futures]  # the items' order


__all__ = ["map_in_threads"]
