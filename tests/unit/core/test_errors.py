"""Errors built from every kind of error body, with advice a user can act on."""

from __future__ import annotations

import json

import pytest

from workers_ai.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
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


# -- context windows and the AI Gateway's envelope ----------------------------------------------


def test_a_5021_names_the_context_window_from_the_message() -> None:
    body = envelope(
        5021,
        "AiError: The estimated number of input and maximum output tokens (35000) exceeded "
        "this model context window limit (24000).",
    )
    error = error_from_response(413, body, {}, model="@cf/meta/llama-3.3-70b-instruct-fp8-fast")
    assert isinstance(error, ContextWindowExceededError) and isinstance(error, BadRequestError)
    assert (error.context_window, error.requested_tokens) == (24000, 35000)
    text = str(error)
    assert "llama-3.3-70b-instruct-fp8-fast's context window is 24000 tokens" in text
    assert "trim_messages" in text


def test_the_context_window_text_is_recognised_without_the_code() -> None:
    body = envelope(
        3010, "Requested token count exceeds the model's maximum context length of 8192"
    )
    error = error_from_response(400, body, {})
    assert isinstance(error, ContextWindowExceededError) and error.context_window == 8192


def test_the_catalog_names_the_window_when_the_message_does_not() -> None:
    error = error_from_response(413, envelope(5021, "too long"), {}, model="m", context_window=7968)
    assert isinstance(error, ContextWindowExceededError)
    assert error.context_window == 7968 and "m's context window is 7968 tokens" in str(error)


def test_a_request_too_large_is_not_a_context_window_error() -> None:
    error = error_from_response(413, envelope(3006, "Request too large"), {})
    assert type(error) is BadRequestError and "fewer or shorter" in str(error)


@pytest.mark.parametrize(
    ("status", "code", "cls", "advice"),
    [
        (401, 2009, AuthenticationError, "gateway_token"),
        (400, 2001, NotFoundError, "gateway_id"),
    ],
)
def test_the_gateways_error_list_is_read(
    status: int, code: int, cls: type[APIStatusError], advice: str
) -> None:
    body = json.dumps(
        {"success": False, "result": [], "messages": [], "error": [{"code": code, "message": "x"}]}
    ).encode()
    error = error_from_response(status, body, {})
    assert type(error) is cls and error.code == code and advice in str(error)
