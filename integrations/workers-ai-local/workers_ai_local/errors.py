"""Cloudflare's error answers, as one exception type the routes raise and the app renders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers_ai._catalog import ModelSpec


class ApiError(Exception):
    """An error to send as ``{"result": null, "success": false, "errors": [{code, message}]}``.

    ``code`` is normally an int; a string is allowed because real responses sometimes carry one.
    """

    def __init__(
        self,
        status: int,
        code: int | str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_input(detail: str) -> ApiError:
    """Schema violation, worded like Cloudflare's validator (code 5006, wire contract §5)."""
    return ApiError(400, 5006, f"AiError: Bad input: Error: {detail}")


def no_such_model(model: str) -> ApiError:
    return ApiError(400, 5007, f"No such model {model} or task")


def model_retired(spec: ModelSpec) -> ApiError:
    """What Cloudflare answers for a retired model (410 / 5028, as seen on the REST API)."""
    assert spec.deprecation is not None
    when = spec.deprecation.date.isoformat()
    return ApiError(
        410,
        5028,
        f"AiError: Model has been deprecated: {spec.name} was deprecated on {when}. "
        "See the model catalog for alternatives",
    )


def paid_plan_required(model: str) -> ApiError:
    """403 / 5035: the model needs Workers Paid (Cloudflare's text, 2026-07-28)."""
    return ApiError(
        403,
        5035,
        f"AiError: Model {model} is not available on the Workers Free plan. Upgrade to access "
        "this model: https://dash.cloudflare.com/?to=/:account/workers/plans",
    )


def no_stand_in(model: str, task: str) -> ApiError:
    """A catalog model of a kind the local server cannot imitate (not Cloudflare's error)."""
    return ApiError(
        501,
        3001,
        f"The local server has no stand-in for {task} models such as {model}; only Cloudflare "
        "runs it.",
    )


def authentication_error() -> ApiError:
    return ApiError(401, 10000, "Authentication error")


def bad_account(path: str) -> ApiError:
    return ApiError(
        404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?"
    )


def no_route() -> ApiError:
    return ApiError(404, 7000, "No route for that URI")


def method_not_allowed(method: str) -> ApiError:
    # Cloudflare answers e.g. GET /ai/v1/models with 405; the exact code is unverified.
    return ApiError(405, 7001, f"{method} not supported for requested URI.")


def missing_body() -> ApiError:
    return ApiError(400, 3003, "Request is missing headers or body")
