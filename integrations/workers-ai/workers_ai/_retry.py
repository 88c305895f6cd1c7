"""The retry policy, shared by the sync and async clients (only their sleep differs)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ModelDeprecatedError,
    NotFoundError,
    PaidPlanRequiredError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    WorkersAIError,
)

RETRYABLE_STATUSES = frozenset({408, 409, 429})


def is_retryable(error: WorkersAIError) -> bool:
    """Transient failures: no answer, a timeout, 408/409/429 (not the daily quota), 5xx."""
    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, QuotaExceededError):
        return False
    if isinstance(error, APIStatusError) and error.status is not None:
        return error.status in RETRYABLE_STATUSES or error.status >= 500
    return False


# "No such model" (5007) and "invalid model id" (3042): another model may well be there.
_MODEL_UNAVAILABLE_CODES = frozenset({5007, 3042})


def warrants_fallback(error: WorkersAIError) -> bool:
    """After the retries on a model: try the next one on capacity (429/3040), server errors,
    timeouts, an unavailable, retired or paid-plan model; never on auth, bad input or the daily
    quota (3036), which another model would meet just the same."""
    if isinstance(error, QuotaExceededError):
        return False
    if isinstance(
        error,
        (RateLimitError, ServerError, APITimeoutError, ModelDeprecatedError, PaidPlanRequiredError),
    ):
        return True
    return isinstance(error, NotFoundError) and error.code in _MODEL_UNAVAILABLE_CODES


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's Retry-After wins up to ``max_retry_after``."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, error: WorkersAIError) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up now.

        ``attempt`` counts the retries already made (0 after the first failure).
        """
        if attempt >= self.max_retries or not is_retryable(error):
            return None
        retry_after: float | None = error.retry_after
        if retry_after is not None:
            # A longer wait than we are willing to make: fail now; the message quotes it.
            return retry_after if retry_after <= self.max_retry_after else None
        backoff = min(self.max_delay, self.initial_delay * 2.0**attempt)
        return backoff * random.uniform(0.5, 1.0)
