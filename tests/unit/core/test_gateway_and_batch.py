"""Pure pieces behind the AI Gateway options, the Batch API, routing keywords and image checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers_ai import (
    BatchItem,
    BatchStatus,
    ConfigurationError,
    GatewayOptions,
    InvalidRequestError,
    UnexpectedResponseError,
    WorkersAI,
)
from workers_ai._batch import (
    MAX_BATCH_BYTES,
    check_complete,
    parse_status,
    poll_delays,
    split_jobs,
    submit_body,
)
from workers_ai._gateway import gateway_options
from workers_ai._request import build_chat_body, pop_routing

# -- gateway options --------------------------------------------------------------------------


def test_gateway_options_become_cf_aig_headers() -> None:
    options = GatewayOptions(
        token="gw-secret", cache_ttl=3600, skip_cache=False, cache_key="k", metadata={"user": 7}
    )
    assert options.headers() == {
        "cf-aig-authorization": "Bearer gw-secret",
        "cf-aig-cache-ttl": "3600",
        "cf-aig-skip-cache": "false",
        "cf-aig-cache-key": "k",
        "cf-aig-metadata": '{"user":7}',
    }
    assert "gw-secret" not in repr(options)


def test_a_calls_options_override_only_what_they_set() -> None:
    base = GatewayOptions(token="t", cache_ttl=60)
    merged = base.merged(GatewayOptions(skip_cache=True))
    assert merged.headers() == {
        "cf-aig-authorization": "Bearer t",
        "cf-aig-cache-ttl": "60",
        "cf-aig-skip-cache": "true",
    }
    assert base.merged(None) is base
    assert gateway_options({"cache_ttl": 5}) == GatewayOptions(cache_ttl=5)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cache_ttl": -1}, ">= 0"),
        ({"cache_ttl": 1.5}, "whole seconds"),
        ({"metadata": {str(i): i for i in range(6)}}, "at most 5"),
        ({"metadata": {"a": [1]}}, "str, number or bool"),
    ],
)
def test_bad_gateway_options_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        GatewayOptions(**fields)


def test_unknown_gateway_keys_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="cache_tll"):
        gateway_options({"cache_tll": 5})


def test_gateway_options_need_a_gateway() -> None:
    with pytest.raises(ConfigurationError, match="gateway_id"):
        WorkersAI(account_id="a", api_token="t", gateway=GatewayOptions(cache_ttl=5))
    client = WorkersAI(account_id="a", api_token="t")
    with pytest.raises(ConfigurationError, match="gateway_id"):
        client.chat("@cf/meta/llama-3.1-8b-instruct-fp8", prompt="hi", gateway={"skip_cache": True})


def test_the_gateway_token_comes_from_the_environment_only_with_a_gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKERS_AI_GATEWAY_TOKEN", "from-env")
    assert WorkersAI(account_id="a", api_token="t").gateway.is_empty()
    with_gateway = WorkersAI(account_id="a", api_token="t", gateway_id="g")
    assert with_gateway.gateway.headers() == {"cf-aig-authorization": "Bearer from-env"}


def test_routing_keywords_are_taken_out_of_a_calls_options() -> None:
    kwargs: dict[str, Any] = {"temperature": 0, "fallback_models": ["m"], "gateway": {"a": 1}}
    assert pop_routing(kwargs) == {"fallback_models": ["m"], "gateway": {"a": 1}}
    assert kwargs == {"temperature": 0}


# -- images and models without vision ------------------------------------------------------------

IMAGE = [
    {"type": "text", "text": "what is this?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
]


def test_a_known_text_only_model_refuses_images_before_the_network() -> None:
    messages: Any = [{"role": "user", "content": IMAGE}]
    with pytest.raises(InvalidRequestError, match="no vision") as caught:
        build_chat_body(
            "@cf/meta/llama-3.1-8b-instruct-fp8", messages, None, stream=False, options={}
        )
    assert "llama-4-scout" in str(caught.value)  # it names models that do take images
    body = build_chat_body(
        "@cf/meta/llama-4-scout-17b-16e-instruct", messages, None, stream=False, options={}
    )
    assert body["messages"][0]["content"] == IMAGE
    # A model we know nothing about is left to Cloudflare to judge.
    build_chat_body("@cf/some/new-model", messages, None, stream=False, options={})


# -- the Batch API's pure parts ------------------------------------------------------------------


def test_a_finished_batch_is_put_back_in_submission_order() -> None:
    result = {
        "responses": [
            {"id": 2, "result": {"r": 2}, "success": True, "external_reference": "c"},
            {"id": 0, "result": {"r": 0}, "success": True, "external_reference": None},
            {"id": 1, "success": False, "result": {"errors": [{"code": 5006, "message": "bad"}]}},
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3},
    }
    status = parse_status(result, "m", "rid")
    assert status.done and status.usage is not None and status.usage.total_tokens == 3
    items = check_complete(status, 3)
    assert [i.index for i in items] == [0, 1, 2]
    assert items[0] == BatchItem(index=0, success=True, result={"r": 0})
    assert items[1].success is False and items[1].error == "5006: bad" and items[1].result is None
    assert items[2].external_reference == "c"


def test_pending_states_and_a_missing_response() -> None:
    queued = parse_status({"status": "queued", "request_id": "r1", "model": "m"}, "m")
    assert queued == BatchStatus(request_id="r1", model="m", status="queued")
    partial = parse_status({"responses": [{"id": 0, "result": 1, "success": True}]}, "m", "r1")
    with pytest.raises(UnexpectedResponseError, match=r"expected 0\.\.1"):
        check_complete(partial, 2)
    with pytest.raises(UnexpectedResponseError, match="status"):
        parse_status({"status": "exploded", "request_id": "r"}, "m")
    with pytest.raises(UnexpectedResponseError, match="request_id"):
        parse_status({"status": "queued"}, "m")


def test_submissions_are_checked_and_big_ones_split() -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        submit_body([])
    with pytest.raises(InvalidRequestError, match="stream"):
        submit_body([{"prompt": "x", "stream": True}])
    big = [{"text": ["x" * 1000] * 1000}] * 20  # ~1 MB each
    jobs = split_jobs(big)
    assert len(jobs) == 3 and sum(len(j) for j in jobs) == 20
    assert all(len(json.dumps(j)) < MAX_BATCH_BYTES for j in jobs)


def test_polls_start_quick_and_settle_at_the_interval() -> None:
    delays = poll_delays(1.0)
    assert [next(delays) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    with pytest.raises(InvalidRequestError):
        next(poll_delays(0))
