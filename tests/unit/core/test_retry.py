"""The retry decision: what is retried, how long we wait, and when we give up."""

from __future__ import annotations

import pytest

from workers_ai._retry import RetryPolicy, is_retryable
from workers_ai.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
    WorkersAIError,
)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (APIConnectionError("x"), True),
        (APITimeoutError("x"), True),
        (RateLimitError("x", status=429, code=3040), True),
        (BadRequestError("x", status=408), True),
        (BadRequestError("x", status=409), True),
        (ServerError("x", status=502), True),
        (QuotaExceededError("x", status=429, code=3036), False),
        (AuthenticationError("x", status=401), False),
        (BadRequestError("x", status=400), False),
        (StreamError("x"), False),
    ],
)
def test_what_is_retried(error: WorkersAIError, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_backoff_grows_with_jitter_and_stops_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=3, initial_delay=1.0, max_delay=3.0)
    error = ServerError("x", status=500)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 3.0)]:
        delay = policy.delay(attempt, error)
        assert delay is not None and ceiling / 2 <= delay <= ceiling
    assert policy.delay(3, error) is None
    assert RetryPolicy(max_retries=0).delay(0, error) is None


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=2, max_retry_after=10)
    assert policy.delay(0, RateLimitError("x", status=429, retry_after=4)) == 4
    assert policy.delay(0, RateLimitError("x", status=429, retry_after=11)) is None
