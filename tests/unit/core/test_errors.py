"""Errors built from every kind of error body, with advice a user can act on."""

from __future__ import annotations

import json

import pytest

from workers_ai.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    error_from_response,
)


def envelope(code: object, message: str) -> bytes:
    return json.dumps(
        {"result": None, "success": False, "errors": [{"code": code, "message": message}]}
    ).encode()


@pytest.mark.parametrize(
    ("status", "code", "cls", "advice"),
    [
        (401, 10000, AuthenticationError, "Workers AI Read"),
        (403, 10000, AuthenticationError, "CLOUDFLARE_ACCOUNT_ID"),
        (403, 5018, PermissionDeniedError, ""),
        (400, 5007, NotFoundError, "workers-ai models"),
        (404, 3042, NotFoundError, "workers-ai models"),
        (404, 7003, NotFoundError, "account id"),
        (400, 5006, BadRequestError, "input schema"),
        (429, 3040, RateLimitError, "out of capacity"),
        (429, 3036, QuotaExceededError, "daily free allocation"),
        (500, 3001, ServerError, "retrying usually helps"),
        (503, None, ServerError, "retrying usually helps"),
    ],
)
def test_each_code_maps_to_its_class_and_advice(
    status: int, code: int | None, cls: type[APIStatusError], advice: str
) -> None:
    error = error_from_response(status, envelope(code, "boom"), {"cf-ray": "ray1"})
    assert type(error) is cls
    assert (error.status, error.code, error.cf_ray) == (status, code, "ray1")
    assert "boom" in str(error) and advice in str(error) and "ray1" in str(error)
    assert error.errors == [{"code": code, "message": "boom"}]


def test_a_string_code_is_read_as_a_number() -> None:
    error = error_from_response(429, envelope("3040", "busy"), {})
    assert isinstance(error, RateLimitError) and error.code == 3040


def test_retry_after_is_read_and_quoted() -> None:
    error = error_from_response(429, envelope(3036, "quota"), {"retry-after": "3600"})
    assert error.retry_after == 3600.0
    assert "Retry-After: 3600 s" in str(error)


def test_html_page_from_a_proxy() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    error = error_from_response(502, page, {})
    assert isinstance(error, ServerError)
    assert "HTML page instead of JSON" in str(error) and "502 Bad Gateway" in str(error)


def test_empty_and_non_json_bodies() -> None:
    assert "body was empty" in str(error_from_response(502, b"", {}))
    assert "not JSON" in str(error_from_response(400, b"plain words", {}))


def test_single_error_object_and_odd_types() -> None:
    error = error_from_response(404, json.dumps({"success": False, "error": "nope"}).encode(), {})
    assert isinstance(error, NotFoundError) and "nope" in str(error)
    odd = error_from_response(400, json.dumps({"errors": ["text", {"code": True}]}).encode(), {})
    assert isinstance(odd, BadRequestError) and odd.code is None
