"""The core client against the real local server over loopback: every family and error path."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import httpx
import pytest

from tests.local.core.conftest import connect
from tests.local.core.test_connection_leaks import pool_of
from workers_ai import (
    APIConnectionError,
    APITimeoutError,
    AsyncWorkersAI,
    AuthenticationError,
    BadRequestError,
    ChatChunk,
    InvalidRequestError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
    WorkersAI,
)

LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
FAMILIES = [LEGACY, SCOUT, OPENAI]
EMBED = "@cf/baai/bge-base-en-v1.5"
ASK = [{"role": "user", "content": "tell me about the sea"}]
MAGIC = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "description": "Apply a magic function to an input.",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "integer"}},
            "required": ["input"],
        },
    },
}
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def data_requests(server: Any) -> list[dict[str, Any]]:
    return list(server.requests())


def merged_tool_calls(chunks: list[ChatChunk]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in chunk.tool_calls:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = call["id"] or (delta.id or "")
            call["name"] = call["name"] or (delta.name or "")
            call["arguments"] += delta.arguments
    return calls


# -- chat ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", FAMILIES)
def test_chat_in_each_result_family(client: WorkersAI, model: str) -> None:
    result = client.chat(model, ASK)
    assert "tell me about the sea" in result.text
    assert result.usage is not None and result.usage.prompt_tokens > 0
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.model == model
    assert result.cf_ray
    assert result.raw


@pytest.mark.parametrize("model", FAMILIES)
def test_stream_matches_chat_with_usage_once(client: WorkersAI, model: str) -> None:
    whole = client.chat(model, ASK)
    chunks = list(client.stream_chat(model, ASK))
    assert "".join(c.text for c in chunks) == whole.text
    assert len([c for c in chunks if c.text]) > 1  # really token by token
    assert [c.usage is not None for c in chunks].count(True) == 1
    assert chunks[-1].is_last and chunks[-1].usage == whole.usage
    assert chunks[-1].model == model


def test_prompt_form_and_options_reach_the_server(client: WorkersAI, server: Any) -> None:
    client.chat(LEGACY, prompt="hello there", max_tokens=7, temperature=0.5, seed=3, stop=["x"])
    [sent] = data_requests(server)
    assert sent["body"] == {
        "prompt": "hello there",
        "max_tokens": 7,
        "temperature": 0.5,
        "seed": 3,
        "stop": ["x"],
    }
    assert sent["path"].endswith(f"/ai/run/{LEGACY}")


def test_max_tokens_truncates(client: WorkersAI) -> None:
    result = client.chat(
        LEGACY, [{"role": "user", "content": "one two three four five six"}], max_tokens=2
    )
    assert result.usage is not None and result.usage.completion_tokens <= 2


@pytest.mark.parametrize("model", FAMILIES)
def test_forced_tool_call_in_each_family(client: WorkersAI, model: str) -> None:
    messages = [{"role": "user", "content": "What is magic_function(3)?"}]
    result = client.chat(model, messages, tools=[MAGIC], tool_choice="any")
    [call] = result.tool_calls
    assert (call.name, call.arguments) == ("magic_function", {"input": 3})
    assert call.id
    chunks = list(client.stream_chat(model, messages, tools=[MAGIC], tool_choice="magic_function"))
    [streamed] = merged_tool_calls(chunks).values()
    assert streamed["name"] == "magic_function" and streamed["id"]
    assert json.loads(streamed["arguments"]) == {"input": 3}
    assert chunks[-1].finish_reason == "tool_calls"


@pytest.mark.parametrize("model", FAMILIES)
def test_json_mode_in_each_family(client: WorkersAI, model: str) -> None:
    result = client.chat(
        model,
        [{"role": "user", "content": "Ada is 36"}],
        response_format={"type": "json_schema", "json_schema": SCHEMA},
    )
    assert isinstance(result.parsed, dict)
    assert set(result.parsed) == {"name", "age"} and isinstance(result.parsed["age"], int)
    assert json.loads(result.text) == result.parsed


def test_a_tool_round_trip_with_history(client: WorkersAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "What is magic_function(3)?"}]
    first = client.chat(LEGACY, messages, tools=[MAGIC], tool_choice="any")
    call = first.tool_calls[0]
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call.id, "name": call.name, "arguments": call.arguments}],
        }
    )
    messages.append({"role": "tool", "content": "5", "tool_call_id": call.id})
    final = client.chat(LEGACY, messages, tools=[MAGIC])
    assert "5" in final.text and not final.tool_calls


# -- embeddings, catalog, run ------------------------------------------------------------------


def test_250_texts_are_embedded_in_three_requests_in_order(client: WorkersAI, server: Any) -> None:
    texts = [f"document number {i}" for i in range(250)]
    result = client.embed(EMBED, texts)
    assert len(result.vectors) == 250 and result.dims == 768
    assert all(isinstance(x, float) for x in result.vectors[0])
    assert sorted(len(r["body"]["text"]) for r in data_requests(server)) == [50, 100, 100]
    assert client.embed(EMBED, texts[137]).vectors[0] == result.vectors[137]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_sync_embed_sends_up_to_embed_concurrency_requests_at_once(
    server: Any, concurrency: int
) -> None:
    texts = [f"document number {i}" for i in range(800)]  # eight requests
    server.inject("latency", count=8, delay=0.2)  # long enough for all allowed to overlap
    with WorkersAI(**connect(server), embed_concurrency=concurrency) as c:
        result = c.embed(EMBED, texts)
        assert len(pool_of(c).connections) == concurrency  # one per request in flight
        assert result.vectors[555] == c.embed(EMBED, texts[555]).vectors[0]


def test_a_failing_request_among_concurrent_ones_raises_its_error(
    client: WorkersAI, server: Any
) -> None:
    texts = [f"document number {i}" for i in range(800)]
    server.inject("error", status=400, code=5006, message="Bad input: text too odd", count=1)
    with pytest.raises(BadRequestError, match="text too odd"):
        client.embed(EMBED, texts)
    pool = pool_of(client)
    assert not [c for c in pool.connections if not c.is_idle()]  # nothing left checked out
    assert len(client.embed(EMBED, texts).vectors) == 800


def test_qwen3_embedding_batches_are_32(client: WorkersAI, server: Any) -> None:
    client.embed("@cf/qwen/qwen3-embedding-0.6b", [f"t{i}" for i in range(40)])
    assert sorted(len(r["body"]["text"]) for r in data_requests(server)) == [8, 32]


async def test_async_embed_is_concurrent_and_keeps_order(
    aclient: AsyncWorkersAI, client: WorkersAI
) -> None:
    texts = [f"text {i} about topic {i % 7}" for i in range(250)]
    async_result = await aclient.embed(EMBED, texts)
    assert async_result.vectors == client.embed(EMBED, texts).vectors


def test_models_walks_every_page(client: WorkersAI, server: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("workers_ai._operations.MODELS_PAGE_SIZE", 3)
    everything = client.models()
    searches = [r for r in data_requests(server) if r["path"].endswith("/models/search")]
    assert len(searches) == -(-len(everything) // 3) > 1  # one request per page of 3
    assert len({m.name for m in everything}) == len(everything)
    embeddings = client.models(task="Text Embeddings")
    assert embeddings and all(m.task == "Text Embeddings" for m in embeddings)
    bge = {m.name: m for m in client.models(search="bge-base")}
    assert bge[EMBED].output_dimensions == 768


def test_run_returns_the_raw_result(client: WorkersAI) -> None:
    result = client.run(EMBED, {"text": ["a b", "c"]})
    assert result["shape"] == [2, 768]
    with pytest.raises(InvalidRequestError, match="at most 100"):
        client.run(EMBED, {"text": ["x"] * 101})


# -- errors ----------------------------------------------------------------------------------


def test_wrong_token_is_an_authentication_error_with_advice(server: Any) -> None:
    with WorkersAI(**connect(server, api_token="wrong")) as bad:
        with pytest.raises(AuthenticationError) as caught:
            bad.chat(LEGACY, ASK)
    assert caught.value.status == 401 and caught.value.code == 10000
    assert "Workers AI Read" in str(caught.value)
    assert len(data_requests(server)) == 1  # never retried


def test_wrong_account_is_7003(server: Any) -> None:
    with WorkersAI(**connect(server, account_id="nope")) as bad:
        with pytest.raises(NotFoundError) as caught:
            bad.chat(LEGACY, ASK)
    assert caught.value.code == 7003 and "CLOUDFLARE_ACCOUNT_ID" in str(caught.value)


def test_unknown_model_is_5007(client: WorkersAI) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.chat("@cf/nobody/no-such-model", ASK)
    assert caught.value.code == 5007 and caught.value.status == 400


def test_schema_violation_is_5006(client: WorkersAI) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.chat(LEGACY, ASK, extra={"max_tokens": "lots"})
    assert caught.value.code == 5006 and "Bad input" in str(caught.value)


def test_missing_credentials_fail_at_the_first_call(monkeypatch: Any) -> None:
    for name in ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    client = WorkersAI()  # constructing never fails for missing credentials
    with pytest.raises(Exception, match="CLOUDFLARE_ACCOUNT_ID"):
        client.chat(LEGACY, ASK)


# -- retries and faults ----------------------------------------------------------------------


def test_capacity_errors_are_retried_until_success(client: WorkersAI, server: Any) -> None:
    server.inject("rate_limit", count=2, retry_after=0)
    assert client.chat(LEGACY, ASK).text
    assert len(data_requests(server)) == 3


def test_retries_are_bounded(client: WorkersAI, server: Any) -> None:
    server.inject("rate_limit", count=5)
    with pytest.raises(RateLimitError) as caught:
        client.chat(LEGACY, ASK)
    assert caught.value.code == 3040
    assert len(data_requests(server)) == 3  # the first try and max_retries=2


def test_max_retries_zero_disables_retries(server: Any) -> None:
    server.inject("server_error", count=1)
    with WorkersAI(**connect(server), max_retries=0) as once, pytest.raises(ServerError):
        once.chat(LEGACY, ASK)
    assert len(data_requests(server)) == 1


def test_daily_quota_fails_fast_without_retrying(client: WorkersAI, server: Any) -> None:
    server.inject("quota", count=3)
    with pytest.raises(QuotaExceededError, match="daily free allocation"):
        client.chat(LEGACY, ASK)
    assert len(data_requests(server)) == 1


def test_a_retry_after_beyond_the_cap_fails_at_once_quoting_it(
    client: WorkersAI, server: Any
) -> None:
    server.inject("rate_limit", count=1, retry_after=3600)
    with pytest.raises(RateLimitError, match="Retry-After: 3600 s"):
        client.chat(LEGACY, ASK)
    assert len(data_requests(server)) == 1


def test_server_errors_are_retried(client: WorkersAI, server: Any) -> None:
    server.inject("server_error", count=1)
    assert client.embed(EMBED, ["x"]).dims == 768
    assert len(data_requests(server)) == 2


def test_a_string_error_code_is_understood(client: WorkersAI, server: Any) -> None:
    server.inject("string_code", count=3)
    with pytest.raises(RateLimitError) as caught:
        client.chat(LEGACY, ASK)
    assert caught.value.code == 3040


def test_timeout(server: Any) -> None:
    server.inject("latency", count=1, delay=1.5)
    with WorkersAI(**connect(server), timeout=0.3, max_retries=0) as slow:
        with pytest.raises(APITimeoutError, match="did not answer in time"):
            slow.chat(LEGACY, ASK)


def test_html_error_page(server: Any) -> None:
    server.inject("html_error", count=1)
    with WorkersAI(**connect(server), max_retries=0) as c, pytest.raises(ServerError) as caught:
        c.chat(LEGACY, ASK)
    assert "HTML page instead of JSON" in str(caught.value)


def test_empty_error_body(server: Any) -> None:
    server.inject("empty_body", count=1)
    with WorkersAI(**connect(server), max_retries=0) as c, pytest.raises(ServerError) as caught:
        c.chat(LEGACY, ASK)
    assert "body was empty" in str(caught.value)


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
def test_a_cut_stream_raises_and_is_not_retried(client: WorkersAI, server: Any, model: str) -> None:
    server.inject("cut_stream", count=1, after=3)
    received: list[str] = []
    with pytest.raises(StreamError, match=r"without \[DONE\]"):
        for chunk in client.stream_chat(model, ASK):
            received.append(chunk.text)
    assert received  # some text arrived, and then the error: never partial text as complete
    assert len(data_requests(server)) == 1


def test_a_malformed_event_raises(client: WorkersAI, server: Any) -> None:
    server.inject("malformed_event", count=1)
    with pytest.raises(StreamError, match="not JSON"):
        list(client.stream_chat(LEGACY, ASK))


def test_a_stream_is_retried_before_its_first_event(client: WorkersAI, server: Any) -> None:
    server.inject("rate_limit", count=1, retry_after=0)
    assert "".join(c.text for c in client.stream_chat(LEGACY, ASK))
    assert len(data_requests(server)) == 2


def test_a_json_answer_to_a_stream_request(client: WorkersAI, server: Any) -> None:
    server.inject("json_for_stream", count=1)
    [chunk] = list(client.stream_chat(LEGACY, ASK))
    assert "tell me about the sea" in chunk.text and chunk.is_last and chunk.usage is not None


def test_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WorkersAI(account_id="a", api_token="t", base_url=f"http://127.0.0.1:{port}/client/v4")
    client._retry = client._retry.__class__(max_retries=1, initial_delay=0.01)
    with client, pytest.raises(APIConnectionError, match="Could not reach Workers AI"):
        client.chat(LEGACY, ASK)


# -- gateway, injected client, secrets ---------------------------------------------------------


def test_gateway_route(server: Any) -> None:
    with WorkersAI(**connect(server), gateway_id="my-gateway") as gw:
        assert gw.chat(LEGACY, ASK).text
    [sent] = data_requests(server)
    assert sent["path"] == f"/v1/{server.account_id}/my-gateway/workers-ai/{LEGACY}"


def test_an_injected_http_client_is_used_and_left_open(server: Any) -> None:
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    with WorkersAI(**connect(server), http_client=http) as c:
        c.chat(LEGACY, ASK)
    assert seen == [f"/client/v4/accounts/{server.account_id}/ai/run/{LEGACY}"]
    assert not http.is_closed
    http.close()


def test_the_token_stays_secret(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.inject("server_error", count=5)
    client = WorkersAI(**connect(server))
    client._retry = client._retry.__class__(max_retries=1, initial_delay=0.01)
    with client, pytest.raises(ServerError) as caught:
        client.chat(LEGACY, ASK)
    for text in (repr(client), str(client), str(caught.value), repr(caught.value), caplog.text):
        assert server.token not in text
    assert "retry 1 of 1" in caplog.text


# -- async mirrors -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", FAMILIES)
async def test_async_chat_and_stream(aclient: AsyncWorkersAI, model: str) -> None:
    whole = await aclient.chat(model, ASK)
    chunks = [c async for c in aclient.stream_chat(model, ASK)]
    assert "".join(c.text for c in chunks) == whole.text
    assert [c.usage is not None for c in chunks].count(True) == 1


async def test_async_tool_stream_keeps_tool_calls(aclient: AsyncWorkersAI) -> None:
    messages = [{"role": "user", "content": "What is magic_function(3)?"}]
    chunks = [
        c async for c in aclient.stream_chat(OPENAI, messages, tools=[MAGIC], tool_choice="any")
    ]
    [call] = merged_tool_calls(chunks).values()
    assert json.loads(call["arguments"]) == {"input": 3}


async def test_async_retries_and_errors(aclient: AsyncWorkersAI, server: Any) -> None:
    server.inject("rate_limit", count=1, retry_after=0)
    assert (await aclient.chat(LEGACY, ASK)).text
    server.inject("quota", count=1)
    with pytest.raises(QuotaExceededError):
        await aclient.chat(LEGACY, ASK)
    server.inject("cut_stream", count=1, after=3)
    with pytest.raises(StreamError):
        async for _ in aclient.stream_chat(LEGACY, ASK):
            pass


async def test_async_models_and_run(aclient: AsyncWorkersAI) -> None:
    assert {m.name for m in await aclient.models(task="Text Generation")} >= {LEGACY, OPENAI}
    assert (await aclient.run(EMBED, {"text": "hi"}))["shape"] == [1, 768]


async def test_async_input_is_checked_at_the_call(aclient: AsyncWorkersAI) -> None:
    with pytest.raises(InvalidRequestError):
        aclient.stream_chat(LEGACY, [])


@pytest.mark.parametrize("stop_at_last", [False, True], ids=["read-to-the-end", "stop-at-last"])
@pytest.mark.parametrize("model", FAMILIES)
def test_a_finished_stream_gives_its_connection_back(
    client: WorkersAI, model: str, stop_at_last: bool
) -> None:
    """After [DONE] the client reads the body to its end, so the next call reuses the
    connection: otherwise every streamed call would open a new one (TCP and TLS handshakes).
    Also when the consumer stops at the last chunk instead of exhausting the iterator."""
    client.chat(model, ASK)  # opens the pool's one keep-alive connection
    [connection] = pool_of(client).connections
    for _ in range(3):
        for chunk in client.stream_chat(model, ASK):
            if stop_at_last and chunk.is_last:
                break
        else:
            assert chunk.is_last
        assert pool_of(client).connections == [connection] and connection.is_idle()


@pytest.mark.parametrize("model", FAMILIES)
async def test_a_finished_async_stream_gives_its_connection_back(
    aclient: AsyncWorkersAI, model: str
) -> None:
    await aclient.chat(model, ASK)
    [connection] = pool_of(aclient).connections
    for _ in range(3):
        chunks = [chunk async for chunk in aclient.stream_chat(model, ASK)]
        assert chunks[-1].is_last
        assert pool_of(aclient).connections == [connection] and connection.is_idle()


def test_a_stream_abandoned_midway_closes_its_connection(client: WorkersAI) -> None:
    """Unread data cannot be left on a pooled connection: it is closed, and the next call
    opens a new one."""
    client.chat(LEGACY, ASK)
    [connection] = pool_of(client).connections
    for chunk in client.stream_chat(LEGACY, ASK):
        assert not chunk.is_last
        break
    assert pool_of(client).connections == []
    assert client.chat(LEGACY, ASK).text
    [reopened] = pool_of(client).connections
    assert reopened is not connection


def test_one_pool_reused_and_reopened_after_close(client: WorkersAI) -> None:
    client.chat(LEGACY, ASK)
    pool = client._http
    client.chat(LEGACY, ASK)
    assert client._http is pool  # one pool for every call
    client.close()
    assert client.chat(LEGACY, ASK).text  # a later call opens a new pool
    assert client._http is not pool
