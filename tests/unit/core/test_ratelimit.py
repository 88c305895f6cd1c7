"""The token bucket: bursts of one second's worth, then one request per 1/rate seconds, in order."""

from __future__ import annotations

import threading

import pytest

from workers_ai import RateLimiter


class FrozenClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_one_seconds_worth_then_spaced_waits() -> None:
    clock = FrozenClock()
    limiter = RateLimiter(600, clock=clock)  # 10 per second
    waits = [limiter.reserve() for _ in range(13)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == pytest.approx([0.1, 0.2, 0.3])


def test_tokens_come_back_with_time_but_never_beyond_the_burst() -> None:
    clock = FrozenClock()
    limiter = RateLimiter(120, clock=clock)  # 2 per second, burst 2
    assert [limiter.reserve() for _ in range(2)] == [0.0, 0.0]
    clock.now += 0.5  # one token back
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(0.5)
    clock.now += 3600  # an idle hour refills the burst only
    assert [limiter.reserve() for _ in range(2)] == [0.0, 0.0]
    assert limiter.reserve() == pytest.approx(0.5)


def test_a_slow_limit_still_allows_one_request_at_once() -> None:
    clock = FrozenClock()
    limiter = RateLimiter(6, clock=clock)  # one per ten seconds
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(10.0)


def test_threads_share_one_bucket_and_no_two_get_the_same_slot() -> None:
    clock = FrozenClock()
    limiter = RateLimiter(60, clock=clock)  # 1 per second, burst 1
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            wait = limiter.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([float(i) for i in range(200)])


@pytest.mark.parametrize("bad", [0, -1])
def test_the_rate_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateLimiter(bad)
