"""Stream framing of each result family, parsed with httpx_sse over real loopback HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from workers_ai_local import LocalServer

LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
OPENAI = "@cf/aisingapore/gemma-sea-lion-v4-27b-it"  # chat.completion shape, no reasoning
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_stock",
        "description": "Price of a stock",
        "parameters": {
            "type": "object",
            "properties": {"symbol": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["symbol", "days"],
        },
    },
}
STOCK_Q = "stock price of ACME over 5 days"
STOCK_ARGS = {"symbol": STOCK_Q, "days": 5}


def stream(http: httpx.Client, path: str, body: dict[str, Any]) -> list[str]:
    """The ``data`` of every event, ``[DONE]`` included."""
    with connect_sse(http, "POST", path, json={**body, "stream": True}) as source:
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [event.data for event in source.iter_sse()]


def run_stream(
    http: httpx.Client, server: LocalServer, model: str, body: dict[str, Any]
) -> list[Any]:
    data = stream(http, f"/client/v4/accounts/{server.account_id}/ai/run/{model}", body)
    assert data[-1] == "[DONE]" and data.count("[DONE]") == 1
    return [json.loads(d) for d in data[:-1]]


def user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def non_stream(http: httpx.Client, server: LocalServer, model: str, body: dict[str, Any]) -> Any:
    path = f"/client/v4/accounts/{server.account_id}/ai/run/{model}"
    return http.post(path, json=body).json()["result"]


@pytest.mark.parametrize("model", [LEGACY, SCOUT])
def test_native_text_stream(http: httpx.Client, server: LocalServer, model: str) -> None:
    events = run_stream(http, server, model, user("the quick brown fox"))
    assert {"response": "", "p": "heartbeat"} in events
    tokens = [e for e in events if e.get("response") and "usage" not in e]
    assert len(tokens) == 5
    assert all(set(e) == {"response", "p"} and isinstance(e["p"], str) and e["p"] for e in tokens)
    text = "".join(e["response"] for e in events)
    assert text == non_stream(http, server, model, user("the quick brown fox"))["response"]
    assert events[-1] == {
        "response": "",
        "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9},
    }


def test_legacy_tool_call_is_one_whole_chunk(http: httpx.Client, server: LocalServer) -> None:
    events = run_stream(http, server, LEGACY, {**user(STOCK_Q), "tools": [TOOL]})
    calls = [e for e in events if "tool_calls" in e]
    assert len(calls) == 1 and calls[0]["response"] == ""
    assert calls[0]["tool_calls"] == [{"name": "lookup_stock", "arguments": STOCK_ARGS}]
    assert "usage" in events[-1]


def test_scout_tool_call_streams_incrementally(http: httpx.Client, server: LocalServer) -> None:
    events = run_stream(
        http, server, SCOUT, {**user(STOCK_Q), "tools": [TOOL], "tool_choice": "any"}
    )
    chunks = [e["tool_calls"][0] for e in events if "tool_calls" in e]
    head, *fragments, sentinel = chunks
    assert head["index"] == 0 and head["type"] == "function" and head["id"].startswith("call_")
    assert head["function"] == {"name": "lookup_stock"}
    assert len(fragments) >= 2
    assert all(set(f) == {"index", "function"} for f in fragments)
    arguments = "".join(f["function"]["arguments"] for f in fragments)
    assert json.loads(arguments) == STOCK_ARGS
    assert sentinel == {
        "id": None,
        "type": None,
        "index": 0,
        "function": {"name": None, "arguments": ""},
    }
    assert events[-1]["usage"]["completion_tokens"] > 0


def test_openai_family_stream_on_run(http: httpx.Client, server: LocalServer) -> None:
    events = run_stream(http, server, OPENAI, user("one two three"))
    chunks, terminal = events[:-1], events[-1]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == OPENAI for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    # usage is repeated, cumulative, on every chunk
    completions = [c["usage"]["completion_tokens"] for c in chunks]
    assert all(c["usage"]["prompt_tokens"] == 3 for c in chunks)
    assert completions == sorted(completions) and completions[-1] == 4
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Echo: one two three"
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finish] == ["stop"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 7
    assert terminal == {"response": "", "usage": chunks[-1]["usage"]}


def test_openai_family_tool_call_stream(http: httpx.Client, server: LocalServer) -> None:
    body = {**user(STOCK_Q), "tools": [TOOL]}
    chunks = run_stream(http, server, OPENAI, body)[:-1]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    head, *fragments = calls
    assert head["index"] == 0 and head["type"] == "function" and head["id"]
    assert head["function"] == {"name": "lookup_stock", "arguments": ""}
    assert len(fragments) >= 2
    assert json.loads("".join(f["function"]["arguments"] for f in fragments)) == STOCK_ARGS
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_openai_route_stream_usage_only_on_request(http: httpx.Client, server: LocalServer) -> None:
    path = f"/client/v4/accounts/{server.account_id}/ai/v1/chat/completions"
    body = {"model": LEGACY, "messages": [{"role": "user", "content": "a b"}]}
    plain = stream(http, path, body)
    assert plain[-1] == "[DONE]"
    chunks = [json.loads(d) for d in plain[:-1]]
    assert all("usage" not in c and c["choices"] for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Echo: a b"
    with_usage = [
        json.loads(d)
        for d in stream(http, path, {**body, "stream_options": {"include_usage": True}})[:-1]
    ]
    assert all(c["usage"] is None for c in with_usage[:-1])
    assert with_usage[-1]["choices"] == []
    assert with_usage[-1]["usage"]["total_tokens"] == 5
    assert "response" not in with_usage[-1]


def test_stream_of_empty_answer_still_has_role_and_finish(
    http: httpx.Client, server: LocalServer
) -> None:
    chunks = run_stream(http, server, OPENAI, {**user("x y"), "stop": ["Echo"]})[:-1]
    first = chunks[0]["choices"][0]
    assert first["delta"] == {"role": "assistant", "content": ""}
    assert first["finish_reason"] == "stop"


def test_stream_through_gateway(http: httpx.Client, server: LocalServer) -> None:
    path = f"{server.gateway_url}/{server.account_id}/gw/workers-ai/{LEGACY}"
    data = stream(http, path, user("hi"))
    assert data[-1] == "[DONE]"
    assert server.requests()[-1]["body"]["stream"] is True


def test_stream_bytes_reassemble_into_frames(http: httpx.Client, server: LocalServer) -> None:
    path = f"/client/v4/accounts/{server.account_id}/ai/run/{LEGACY}"
    with http.stream("POST", path, json={**user("é ü 漢字 " * 5), "stream": True}) as response:
        raw = b"".join(response.iter_raw())
    frames = raw.decode().split("\n\n")
    assert frames[-1] == "" and frames[-2] == "data: [DONE]"
    assert all(f.startswith("data: ") for f in frames[:-1])
    assert "漢字" in "".join(json.loads(f[6:]).get("response", "") for f in frames[:-2])
