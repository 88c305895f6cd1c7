"""Typed exceptions, built from Cloudflare's error envelope.

Every error a caller can meet is a :class:`WorkersAIError`. Errors from an HTTP answer carry the
status, the Cloudflare code, the message, the CF-Ray id and the whole ``errors`` list, and their
text says what to do next.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, Protocol


class WorkersAIError(Exception):
    """Base of every error raised by this package."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        cf_ray: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.errors = errors or []
        self.cf_ray = cf_ray
        self.retry_after = retry_after


class ConfigurationError(WorkersAIError, ValueError):
    """The client is missing a credential or was given an unsafe setting."""


class InvalidRequestError(WorkersAIError, ValueError):
    """The request was rejected before it reached the network."""


class APIStatusError(WorkersAIError):
    """Cloudflare (or the local server) answered with an error status."""


class BadRequestError(APIStatusError):
    """400: the input does not fit the model's schema (codes 5006, 5004, 3003, ...)."""


class ContextWindowExceededError(BadRequestError):
    """The prompt plus ``max_tokens`` do not fit the model's context window (code 5021).

    ``context_window`` is the model's limit in tokens when Cloudflare's message or the model
    catalog says it; ``requested_tokens`` is Cloudflare's estimate of what was asked for.
    """

    context_window: int | None = None
    requested_tokens: int | None = None


class AuthenticationError(APIStatusError):
    """401/403 code 10000: the token was refused."""


class PermissionDeniedError(APIStatusError):
    """403: the account may not use this model or feature."""


class NotFoundError(APIStatusError):
    """No such model (5007, 3042) or account (7003), or another 404."""


class ModelDeprecatedError(NotFoundError):
    """The model was retired (``deprecated_on``); ``replacement`` names what to use instead.

    Raised before the network when the model catalog dates the retirement in the past (no
    request is spent, and a retired model Cloudflare aliases to a dearer one is not billed
    silently), or built from Cloudflare's answer (410, code 5028) when the catalog did not know.
    """

    model: str | None = None
    deprecated_on: str | None = None
    replacement: str | None = None


class PaidPlanRequiredError(PermissionDeniedError):
    """403 code 5035: the model needs Workers Paid (or AI Gateway credits); the message names
    Free-plan models of the same task. ``alternatives`` lists them."""

    alternatives: tuple[str, ...] = ()


class RateLimitError(APIStatusError):
    """429 code 3040 (out of capacity) or another transient 429: retry later."""


class QuotaExceededError(APIStatusError):
    """429 code 3036: the daily free allocation is used up; retrying today will not help."""


class ServerError(APIStatusError):
    """5xx: a fault on Cloudflare's side."""


class APIConnectionError(WorkersAIError):
    """The request did not get an answer: DNS, refused connection, reset, TLS."""


class APITimeoutError(APIConnectionError):
    """No answer within the client's timeout."""


class UnexpectedResponseError(WorkersAIError):
    """A success answer whose body has a shape we do not know."""


class StreamError(WorkersAIError):
    """A stream broke: it ended without ``[DONE]`` or carried an event we cannot read."""


class BatchTimeoutError(WorkersAIError):
    """A queued batch did not finish in time; ``request_id`` fetches it later (get_batch)."""

    def __init__(self, message: str, *, request_id: str) -> None:
        super().__init__(message)
        self.request_id = request_id


# Cloudflare codes, one place each.
CONTEXT_WINDOW_CODE = 5021
NO_SUCH_MODEL_CODE = 5007
MODEL_DEPRECATED_CODE = 5028
PAID_PLAN_CODE = 5035
GATEWAY_UNAUTHORIZED_CODE = 2009
GATEWAY_NOT_FOUND_CODE = 2001
# Context-window rejections: "... tokens (35000) exceeded this model context window limit
# (24000)" (5021, HTTP 413 or 400) and the newer "exceeds the model's maximum context length
# of 256000 tokens". Older answers carried 3010 with the same text, so the text decides too.
_CONTEXT_WINDOW_TEXT = re.compile(
    r"context window limit \((?P<limit>[0-9]{1,12})\)"
    r"|maximum context length of (?P<max>[0-9]{1,12})\b",
    re.IGNORECASE,
)
_REQUESTED_TOKENS_TEXT = re.compile(r"tokens \((?P<n>[0-9]{1,12})\) exceeded", re.IGNORECASE)


# What to do next, per Cloudflare code. One place for each code's advice.
_ADVICE: dict[int, str] = {
    10000: (
        "Check the API token: it needs the 'Workers AI Read' and 'Workers AI Edit' permissions, "
        "and the account id (CLOUDFLARE_ACCOUNT_ID) must be the account the token belongs to."
    ),
    7003: "Check the account id (CLOUDFLARE_ACCOUNT_ID): Cloudflare could not route to it.",
    7000: "Check the base URL and the model name: Cloudflare has no route for that path.",
    NO_SUCH_MODEL_CODE: "Check the model name; `workers-ai models` lists the models you can use.",
    3042: "Check the model name; `workers-ai models` lists the models you can use.",
    5006: "The request does not fit the model's input schema; see the message for the field.",
    3040: "Cloudflare is out of capacity for this model right now; retry in a moment.",
    3036: (
        "The account's daily free allocation of neurons is used up; wait for the daily reset "
        "or move to the Workers Paid plan."
    ),
    5016: "Accept the model's license terms first (see the model's page in the Cloudflare docs).",
    3006: "The request is too large; send fewer or shorter inputs.",
    CONTEXT_WINDOW_CODE: (
        "The prompt plus max_tokens do not fit the model's context window; trim the history "
        "(LangChain trim_messages, a LlamaIndex memory buffer) or lower max_tokens."
    ),
    GATEWAY_UNAUTHORIZED_CODE: (
        "The AI Gateway is authenticated: pass its token as gateway_token (sent as "
        "cf-aig-authorization), or check that the token is right."
    ),
    GATEWAY_NOT_FOUND_CODE: (
        "Check gateway_id: no AI Gateway of that name exists in this account (create it in the "
        "Cloudflare dashboard)."
    ),
}


def _status_advice(status: int) -> str:
    if status in (401, 403):
        return _ADVICE[10000]
    if status == 429:
        return "Too many requests; slow down and retry later."
    if status >= 500:
        return "Cloudflare had a server error; retrying usually helps."
    return ""


def _code(value: Any) -> int | None:
    """Cloudflare codes are integers, but some answers send them as strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 12:  # not "²", not 5000 digits
            return int(text)
    return None


def _error_list(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, Mapping):
        return []
    raw = body.get("errors")
    if isinstance(raw, list):
        return [e if isinstance(e, dict) else {"message": str(e)} for e in raw]
    # Some answers (the 2024 spec's 404 shape, OpenAI-style bodies) use a single "error".
    single = body.get("error")
    if isinstance(single, list):  # the AI Gateway's envelope: "error": [{"code", "message"}]
        return [e if isinstance(e, dict) else {"message": str(e)} for e in single]
    if isinstance(single, Mapping):
        return [dict(single)]
    if isinstance(single, str):
        return [{"message": single}]
    return []


def _html_title(text: str) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return " ".join(match.group(1).split()) if match else None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (HTTP dates are ignored)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _error_class(status: int, code: int | None, detail: str) -> type[APIStatusError]:
    if code == CONTEXT_WINDOW_CODE or (
        status in (400, 413) and _CONTEXT_WINDOW_TEXT.search(detail)
    ):
        return ContextWindowExceededError
    if code == 3036:
        return QuotaExceededError
    if code == MODEL_DEPRECATED_CODE or (status == 410 and code is None):
        return ModelDeprecatedError
    if code == PAID_PLAN_CODE:
        return PaidPlanRequiredError
    if code in (NO_SUCH_MODEL_CODE, 3042, 7003, GATEWAY_NOT_FOUND_CODE):
        return NotFoundError
    if code in (10000, GATEWAY_UNAUTHORIZED_CODE) or status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return BadRequestError


class ModelFacts(Protocol):
    """What the model catalog knows that makes an error about a model useful (the catalog
    implements it; this module does not import it, since the catalog raises these errors)."""

    def advice_for(self, error: type[APIStatusError], code: int | None, model: str) -> str:
        """What to do about ``model`` after Cloudflare refused it with ``error``/``code``."""
        ...

    def deprecation_of(self, model: str) -> tuple[str | None, str | None]:
        """``model``'s deprecation date (ISO) and replacement, each None when unknown."""
        ...

    def alternatives_to(self, model: str) -> tuple[str, ...]:
        """Free-plan models that do what ``model`` does."""
        ...


def error_from_response(
    status: int,
    content: bytes,
    headers: Mapping[str, str],
    *,
    model: str | None = None,
    context_window: int | None = None,
    facts: ModelFacts | None = None,
) -> APIStatusError:
    """Build the typed error for an HTTP error answer, whatever its body holds.

    ``model`` and ``context_window`` (from the catalog) name the limit in a context-window
    error when Cloudflare's message does not; ``facts`` (the catalog) adds what to do about
    a model that was refused: its replacement, free alternatives, the name meant.
    """
    cf_ray = headers.get("cf-ray")
    retry_after = parse_retry_after(headers)
    text = content.decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        body = None

    errors = _error_list(body)
    first = errors[0] if errors else {}
    code = _code(first.get("code"))
    detail = str(first.get("message") or "").strip()
    if body is None:
        title = _html_title(text)
        if not text.strip():
            detail = "the body was empty (a proxy or gateway may be in the way)"
        elif title or "<html" in text.lower():
            detail = (
                f"an HTML page instead of JSON{f' ({title!r})' if title else ''}; "
                "a proxy or gateway may be in the way"
            )
        else:
            detail = f"a body that is not JSON: {text[:200]!r}"

    where = f"{status}" + (f" (code {code})" if code is not None else "")
    cls = _error_class(status, code, detail)
    advice = facts.advice_for(cls, code, model) if facts is not None and model else ""
    advice = advice or (_ADVICE.get(code, "") if code is not None else "")
    advice = advice or _status_advice(status)
    parts = [f"Workers AI returned {where}: {detail or 'no message'}."]
    if advice:
        parts.append(advice)
    if retry_after is not None:
        parts.append(f"Retry-After: {retry_after:g} s.")
    if cf_ray:
        parts.append(f"[cf-ray {cf_ray}]")
    if cls is ContextWindowExceededError:
        return _context_window_error(
            parts, detail, model, context_window, status, code, errors, cf_ray
        )
    error = cls(
        " ".join(parts),
        status=status,
        code=code,
        errors=errors,
        cf_ray=cf_ray,
        retry_after=retry_after,
    )
    if isinstance(error, ModelDeprecatedError):
        _fill_deprecation(error, model, detail, facts)
    elif isinstance(error, PaidPlanRequiredError) and model and facts is not None:
        error.alternatives = facts.alternatives_to(model)
    return error


_DEPRECATED_ON_TEXT = re.compile(r"deprecated on (?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})")


def _fill_deprecation(
    error: ModelDeprecatedError, model: str | None, detail: str, facts: ModelFacts | None
) -> None:
    date, replacement = facts.deprecation_of(model) if facts is not None and model else (None, None)
    found = _DEPRECATED_ON_TEXT.search(detail)
    error.model = model
    error.deprecated_on = found.group("date") if found else date
    error.replacement = replacement


def _context_window_error(
    parts: list[str],
    detail: str,
    model: str | None,
    context_window: int | None,
    status: int,
    code: int | None,
    errors: list[dict[str, Any]],
    cf_ray: str | None,
) -> ContextWindowExceededError:
    match = _CONTEXT_WINDOW_TEXT.search(detail)
    if match:
        context_window = int(match.group("limit") or match.group("max"))
    requested = _REQUESTED_TOKENS_TEXT.search(detail)
    if context_window is not None:
        whose = f"{model}'s" if model else "The model's"
        parts.insert(1, f"{whose} context window is {context_window} tokens.")
    error = ContextWindowExceededError(
        " ".join(parts), status=status, code=code, errors=errors, cf_ray=cf_ray
    )
    error.context_window = context_window
    error.requested_tokens = int(requested.group("n")) if requested else None
    return error


def failure_in_envelope(body: Any) -> bool:
    """True when a 200 answer still says ``success: false`` (the envelope is the truth)."""
    return isinstance(body, Mapping) and body.get("success") is False
