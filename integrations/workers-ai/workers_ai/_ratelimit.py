"""Client-side rate limiting: a token bucket shared by every thread and task using a client.

The bucket only does arithmetic under a lock and says how long the caller must wait; the
sync client sleeps with ``time.sleep`` and the async client with ``asyncio.sleep``, so one
bucket serves both (the adapters share one between their sync client and their per-loop
async clients). Every HTTP request takes a token, retries included: the limit is what
Cloudflare sees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """At most ``requests_per_minute`` requests, in bursts of at most one second's worth.

    Waiting callers are served in the order they asked: each reservation moves the time the
    next token is free forward, so no caller can be starved by later ones.
    """

    def __init__(
        self, requests_per_minute: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be > 0")
        self.requests_per_minute = requests_per_minute
        self._rate = requests_per_minute / 60.0  # tokens per second
        self._capacity = max(1.0, self._rate)  # one second's worth, at least one request
        self._clock = clock
        self._tokens = self._capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(requests_per_minute={self.requests_per_minute:g})"

    def reserve(self) -> float:
        """Take a token now and return the seconds to wait before using it (0 when free)."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._updated
            self._updated = now
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self._rate


__all__ = ["RateLimiter"]
