"""Client-side rate limiting through the clients: every HTTP request (retries too) takes a token
from one bucket shared by threads, tasks, and an adapter's sync and async clients.

The bucket runs on a frozen clock, so the waits it hands out are exact; the clients really
sleep them, so the numbers stay small.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.local.core.conftest import FAST_RETRIES, connect
from workers_ai import AsyncWorkersAI, RateLimiter, WorkersAI

MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8"
ASK = [{"role": "user", "content": "hi"}]


class RecordingLimiter(RateLimiter):
    """A limiter on a frozen clock that keeps every wait it hands out."""

    def __init__(self, requests_per_minute: float) -> None:
        super().__init__(requests_per_minute, clock=lambda: 0.0)
        self.waits: list[float] = []

    def reserve(self) -> float:
        wait = super().reserve()
        self.waits.append(wait)
        return wait


def test_threads_sharing_a_sync_client_share_the_limit(server: Any) -> None:
    limiter = RecordingLimiter(6000)  # 100/s: a burst of 100, then 10 ms apart
    with WorkersAI(**connect(server), rate_limiter=limiter) as client:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: client.chat(MODEL, ASK), range(110)))
    assert len(results) == 110 and len(server.requests()) == 110
    assert sorted(limiter.waits) == pytest.approx([0.0] * 100 + [0.01 * i for i in range(1, 11)])


async def test_tasks_sharing_an_async_client_share_the_limit(server: Any) -> None:
    limiter = RecordingLimiter(3000)  # 50/s
    async with AsyncWorkersAI(**connect(server), rate_limiter=limiter) as client:
        await asyncio.gather(*(client.chat(MODEL, ASK) for _ in range(55)))
    assert sorted(limiter.waits) == pytest.approx([0.0] * 50 + [0.02 * i for i in range(1, 6)])


def test_retries_take_tokens_too(server: Any) -> None:
    limiter = RecordingLimiter(6000)
    server.inject("rate_limit", count=1, retry_after=0)
    with WorkersAI(**connect(server), rate_limiter=limiter) as client:
        client._retry = FAST_RETRIES
        client.chat(MODEL, ASK)
    assert len(limiter.waits) == 2 == len(server.requests())


def test_requests_per_minute_makes_a_limiter(server: Any) -> None:
    with WorkersAI(**connect(server), requests_per_minute=120) as client:
        assert client.rate_limiter is not None
        assert client.rate_limiter.requests_per_minute == 120
    assert WorkersAI(**connect(server)).rate_limiter is None
    with pytest.raises(ValueError, match="not both"):
        WorkersAI(**connect(server), requests_per_minute=1, rate_limiter=RateLimiter(1))
