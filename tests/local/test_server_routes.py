"""The local server's routes and non-streaming shapes, over real loopback HTTP."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from typing import Any

import httpx
import pytest

from workers_ai_local import LocalServer

LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
OPENAI = "@cf/aisingapore/gemma-sea-lion-v4-27b-it"  # chat.completion shape, no reasoning
EMBED = "@cf/baai/bge-base-en-v1.5"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "verbose": {"type": "boolean"},
            },
            "required": ["city", "days", "unit"],
        },
    },
}
WEATHER_Q = "What is the weather in Paris for 3 days?"
WEATHER_ARGS = {"city": WEATHER_Q, "days": 3, "unit": "celsius"}


def run_path(server: LocalServer, model: str) -> str:
    return f"/client/v4/accounts/{server.account_id}/ai/run/{model}"


def v1_path(server: LocalServer, what: str) -> str:
    return f"/client/v4/accounts/{server.account_id}/ai/v1/{what}"


def run(http: httpx.Client, server: LocalServer, model: str, body: dict[str, Any]) -> Any:
    response = http.post(run_path(server, model), json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["success"] is True and data["errors"] == [] and data["messages"] == []
    return data["result"]


def user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


# -- text generation, one result family at a time -------------------------------------------


def test_legacy_result_shape(http: httpx.Client, server: LocalServer) -> None:
    response = http.post(run_path(server, LEGACY), json=user("hello there world"))
    assert re.fullmatch(r"[0-9a-f]{16}-LOCAL", response.headers["cf-ray"])
    assert response.headers["content-type"].startswith("application/json")
    result = response.json()["result"]
    assert result == {
        "response": "Echo: hello there world",
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }


def test_prompt_form_and_prompt_tokens(http: httpx.Client, server: LocalServer) -> None:
    result = run(http, server, LEGACY, {"prompt": "one two"})
    assert result["response"] == "Echo: one two"
    body = {
        "messages": [
            {"role": "system", "content": "be brief please"},
            {"role": "user", "content": [{"type": "text", "text": "a b"}]},
        ]
    }
    assert run(http, server, LEGACY, body)["usage"]["prompt_tokens"] == 5


def test_scout_result_shape(http: httpx.Client, server: LocalServer) -> None:
    result = run(http, server, SCOUT, user("hi"))
    assert result["response"] == "Echo: hi"
    assert "tool_calls" not in result
    assert result["usage"]["total_tokens"] == 3


def test_openai_family_result_shape(http: httpx.Client, server: LocalServer) -> None:
    result = run(http, server, OPENAI, user("hi you"))
    assert result["object"] == "chat.completion"
    assert result["model"] == OPENAI
    assert result["id"].startswith("chatcmpl-") and isinstance(result["created"], int)
    (choice,) = result["choices"]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": "Echo: hi you"},
        "finish_reason": "stop",
        "logprobs": None,
    }
    assert result["usage"] == {
        "prompt_tokens": 2,
        "completion_tokens": 3,
        "total_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_max_tokens_truncates(http: httpx.Client, server: LocalServer) -> None:
    body = {**user("a b c d e"), "max_tokens": 2}
    assert run(http, server, LEGACY, body)["response"] == "Echo: a"
    result = run(http, server, OPENAI, body)
    assert result["choices"][0]["finish_reason"] == "length"
    assert result["usage"]["completion_tokens"] == 2
    assert (
        run(http, server, OPENAI, {**user("a"), "max_completion_tokens": 1})["choices"][0][
            "message"
        ]["content"]
        == "Echo:"
    )


def test_stop_sequence_cuts_text(http: httpx.Client, server: LocalServer) -> None:
    assert (
        run(http, server, LEGACY, {**user("thank you kindly"), "stop": ["you"]})["response"]
        == "Echo: thank "
    )
    assert run(http, server, LEGACY, {**user("thank you"), "stop": "ank"})["response"] == (
        "Echo: th"
    )


def test_sampling_options_are_accepted(http: httpx.Client, server: LocalServer) -> None:
    body = {
        **user("x"),
        "temperature": 0,
        "top_p": 0.9,
        "top_k": 50,
        "seed": 42,
        "repetition_penalty": 1.1,
        "frequency_penalty": -2,
        "presence_penalty": 2,
        "raw": "true",
        "lora": "my-adapter",
    }
    assert run(http, server, LEGACY, body)["response"] == "Echo: x"


# -- tool calls ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool_choice",
    [
        None,
        "auto",
        "required",
        "any",
        "get_weather",
        {"type": "function", "function": {"name": "get_weather"}},
    ],
)
def test_legacy_tool_call(http: httpx.Client, server: LocalServer, tool_choice: Any) -> None:
    body: dict[str, Any] = {**user(WEATHER_Q), "tools": [WEATHER_TOOL]}
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    result = run(http, server, LEGACY, body)
    assert result["response"] == ""
    assert result["tool_calls"] == [{"name": "get_weather", "arguments": WEATHER_ARGS}]


def test_flat_tool_form_and_forced_call_without_mention(
    http: httpx.Client, server: LocalServer
) -> None:
    flat = {
        "name": "add_numbers",
        "description": "Add",
        "parameters": WEATHER_TOOL["function"]["parameters"],
    }  # type: ignore[index]
    body = {**user("nothing relevant here"), "tools": [flat]}
    assert "tool_calls" not in run(http, server, LEGACY, body)
    result = run(http, server, LEGACY, {**body, "tool_choice": "required"})
    assert result["tool_calls"][0]["name"] == "add_numbers"
    assert result["tool_calls"][0]["arguments"]["days"] == 0


def test_tool_choice_none_answers_text(http: httpx.Client, server: LocalServer) -> None:
    body = {**user(WEATHER_Q), "tools": [WEATHER_TOOL], "tool_choice": "none"}
    assert run(http, server, LEGACY, body)["response"] == f"Echo: {WEATHER_Q}"


def test_scout_tool_call_shape(http: httpx.Client, server: LocalServer) -> None:
    result = run(http, server, SCOUT, {**user(WEATHER_Q), "tools": [WEATHER_TOOL]})
    (call,) = result["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"] == {"name": "get_weather", "arguments": WEATHER_ARGS}


def test_openai_family_tool_call_arguments_are_a_string(
    http: httpx.Client, server: LocalServer
) -> None:
    result = run(http, server, OPENAI, {**user(WEATHER_Q), "tools": [WEATHER_TOOL]})
    choice = result["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == WEATHER_ARGS


def test_every_mentioned_tool_is_called(http: httpx.Client, server: LocalServer) -> None:
    other = {
        "name": "get_time",
        "description": "t",
        "parameters": {"type": "object", "properties": {}},
    }
    body = {**user("weather and time please"), "tools": [WEATHER_TOOL, other]}
    names = [c["name"] for c in run(http, server, LEGACY, body)["tool_calls"]]
    assert names == ["get_weather", "get_time"]
    assert run(http, server, LEGACY, body)["tool_calls"][1]["arguments"] == {}


def test_tool_result_history_is_answered_in_text(http: httpx.Client, server: LocalServer) -> None:
    body = {
        "messages": [
            {"role": "user", "content": WEATHER_Q, "name": "alice"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "x", "arguments": {}},
                    },
                ],
            },
            {"role": "tool", "content": "sunny, 21C", "tool_call_id": "call_1"},
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
    }
    for model in (LEGACY, SCOUT):
        assert run(http, server, model, body)["response"] == "Echo: get_weather returned sunny, 21C"
    message = run(http, server, OPENAI, body)["choices"][0]["message"]
    assert message["content"] == "Echo: get_weather returned sunny, 21C"


# -- JSON mode -------------------------------------------------------------------------------

JOKE_SCHEMA = {
    "type": "object",
    "properties": {
        "setup": {"type": "string"},
        "rating": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "extra": {"type": "string"},
    },
    "required": ["setup", "rating", "tags"],
}


def test_legacy_json_mode_response_is_an_object(http: httpx.Client, server: LocalServer) -> None:
    body = {
        **user("joke number 7"),
        "response_format": {"type": "json_schema", "json_schema": JOKE_SCHEMA},
    }
    result = run(http, server, LEGACY, body)
    assert result["response"] == {"setup": "joke number 7", "rating": 7, "tags": []}
    result = run(http, server, SCOUT, {**user("hey"), "response_format": {"type": "json_object"}})
    assert result["response"] == {"echo": "hey"}


def test_openai_family_json_mode_uses_the_openai_envelope(
    http: httpx.Client, server: LocalServer
) -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "joke", "schema": JOKE_SCHEMA, "strict": True},
    }
    result = run(http, server, OPENAI, {**user("joke 7"), "response_format": fmt})
    content = result["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    assert json.loads(content) == {"setup": "joke 7", "rating": 7, "tags": []}
    bare = {"type": "json_schema", "json_schema": JOKE_SCHEMA}
    response = http.post(run_path(server, OPENAI), json={**user("x"), "response_format": bare})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == 5006


# -- embeddings ------------------------------------------------------------------------------


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_shape_and_determinism(http: httpx.Client, server: LocalServer) -> None:
    texts = ["the cat sat", "the cat sat", "a cat ran", "quantum chromodynamics"]
    result = run(http, server, EMBED, {"text": texts})
    assert result["shape"] == [4, 768] and result["pooling"] == "mean"
    data = result["data"]
    assert all(math.isclose(cosine(v, v), 1.0) for v in data)
    assert data[0] == data[1]
    assert cosine(data[0], data[2]) > cosine(data[0], data[3])
    single = run(http, server, EMBED, {"text": "the cat sat", "pooling": "cls"})
    assert single["shape"] == [1, 768] and single["pooling"] == "cls"
    assert single["data"][0] == data[0]


@pytest.mark.parametrize(
    ("model", "dims", "limit"),
    [
        ("@cf/baai/bge-small-en-v1.5", 384, 100),
        ("@cf/baai/bge-large-en-v1.5", 1024, 100),
        ("@cf/qwen/qwen3-embedding-0.6b", 1024, 32),
    ],
)
def test_embedding_dimensions_and_batch_limits(
    http: httpx.Client, server: LocalServer, model: str, dims: int, limit: int
) -> None:
    result = run(http, server, model, {"text": [f"t{i}" for i in range(limit)]})
    assert result["shape"] == [limit, dims]
    response = http.post(run_path(server, model), json={"text": ["t"] * (limit + 1)})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["code"] == 5006 and f"maximum of {limit}" in error["message"]


# -- the OpenAI-compatible routes ------------------------------------------------------------


def test_openai_chat_route_has_no_envelope(http: httpx.Client, server: LocalServer) -> None:
    body = {"model": LEGACY, "messages": [{"role": "user", "content": "yo"}]}
    data = http.post(v1_path(server, "chat/completions"), json=body).json()
    assert "success" not in data and data["object"] == "chat.completion"
    assert data["model"] == LEGACY
    assert data["choices"][0]["message"]["content"] == "Echo: yo"
    body = {**body, "tools": [WEATHER_TOOL], "tool_choice": "required"}
    data = http.post(v1_path(server, "chat/completions"), json=body).json()
    assert data["choices"][0]["message"]["content"] is None
    assert (
        json.loads(data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])["unit"]
        == "celsius"
    )


def test_openai_chat_route_errors_use_the_envelope(http: httpx.Client, server: LocalServer) -> None:
    for body, code in [
        ({"model": "@cf/nope/nope", "messages": [{"role": "user", "content": "x"}]}, 5007),
        ({"model": EMBED, "messages": [{"role": "user", "content": "x"}]}, 5007),
        ({"messages": [{"role": "user", "content": "x"}]}, 5006),
        ({"model": LEGACY, "prompt": "x"}, 5006),
    ]:
        response = http.post(v1_path(server, "chat/completions"), json=body)
        assert response.status_code == 400
        assert response.json()["success"] is False
        assert response.json()["errors"][0]["code"] == code


def test_openai_embeddings_route(http: httpx.Client, server: LocalServer) -> None:
    body = {"model": EMBED, "input": ["hello world", "bye"]}
    data = http.post(v1_path(server, "embeddings"), json=body).json()
    assert data["object"] == "list" and data["model"] == EMBED
    assert [d["index"] for d in data["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == 768 for d in data["data"])
    assert data["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    native = run(http, server, EMBED, {"text": ["hello world"]})["data"][0]
    assert data["data"][0]["embedding"] == native
    b64 = http.post(
        v1_path(server, "embeddings"),
        json={"model": EMBED, "input": "hello world", "encoding_format": "base64"},
    ).json()
    raw = base64.b64decode(b64["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(decoded, native, strict=True))
    response = http.post(v1_path(server, "embeddings"), json={"model": LEGACY, "input": "x"})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == 5007


# -- AI Gateway ------------------------------------------------------------------------------


def test_gateway_routes_and_log(http: httpx.Client, server: LocalServer) -> None:
    gateway = f"{server.gateway_url}/{server.account_id}/my-gw/workers-ai"
    headers = {"cf-aig-authorization": "Bearer gw-secret", "cf-aig-cache-ttl": "60"}
    result = http.post(f"{gateway}/{LEGACY}", json=user("via gw"), headers=headers).json()
    assert result["result"]["response"] == "Echo: via gw"
    result = http.post(f"{gateway}/run/{SCOUT}", json=user("sdk form")).json()
    assert result["result"]["response"] == "Echo: sdk form"
    body = {"model": OPENAI, "messages": [{"role": "user", "content": "x"}]}
    data = http.post(f"{gateway}/v1/chat/completions", json=body).json()
    assert data["object"] == "chat.completion"
    data = http.post(f"{gateway}/v1/embeddings", json={"model": EMBED, "input": "x"}).json()
    assert data["object"] == "list"
    bad = http.post(f"{server.gateway_url}/other-account/my-gw/workers-ai/{LEGACY}", json=user("x"))
    assert bad.status_code == 404 and bad.json()["errors"][0]["code"] == 7003
    log = server.requests()
    assert [e["gateway_id"] for e in log] == ["my-gw"] * 5
    assert log[0]["headers"]["cf-aig-authorization"] == "<redacted>"
    assert log[0]["headers"]["cf-aig-cache-ttl"] == "60"


# -- model search ----------------------------------------------------------------------------


def search(http: httpx.Client, server: LocalServer, **params: Any) -> Any:
    path = f"/client/v4/accounts/{server.account_id}/ai/models/search"
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_models_search_paging(http: httpx.Client, server: LocalServer) -> None:
    first = search(http, server, per_page=5)
    total = first["result_info"]["total_count"]
    assert total >= 20 and first["result_info"] == {
        "page": 1,
        "per_page": 5,
        "count": 5,
        "total_count": total,
    }
    names: list[str] = []
    for page in range(1, math.ceil(total / 5) + 2):
        data = search(http, server, per_page=5, page=page)
        names += [m["name"] for m in data["result"]]
        assert data["result_info"]["count"] == len(data["result"])
    assert len(names) == len(set(names)) == total
    for family_member in (LEGACY, SCOUT, OPENAI, "@cf/openai/gpt-oss-20b", EMBED):
        assert family_member in names
    assert "@cf/meta/llama-3.1-8b-instruct" not in names  # retired on 2026-05-30


def test_models_search_items_and_filters(http: httpx.Client, server: LocalServer) -> None:
    embeddings = search(http, server, task="text embeddings", per_page=100)["result"]
    assert embeddings and all(m["task"]["name"] == "Text Embeddings" for m in embeddings)
    bge_small = next(m for m in embeddings if m["name"] == "@cf/baai/bge-small-en-v1.5")
    props = {p["property_id"]: p["value"] for p in bge_small["properties"]}
    assert props["output_dimensions"] == "384" and props["max_input_tokens"] == "512"
    assert set(bge_small) == {
        "id",
        "source",
        "name",
        "description",
        "task",
        "created_at",
        "tags",
        "properties",
    }
    text = search(http, server, task="Text Generation", per_page=100)["result"]
    llama33 = next(m for m in text if m["name"] == "@cf/meta/llama-3.3-70b-instruct-fp8-fast")
    props = {p["property_id"]: p["value"] for p in llama33["properties"]}
    assert props["context_window"] == "24000" and props["function_calling"] == "true"
    # As Cloudflare lists them: strings, but for price (a list) and reasoning_effort (an object).
    for prop in (p for m in text for p in m["properties"]):
        expected = {"price": list, "reasoning_effort": dict}.get(prop["property_id"], str)
        assert isinstance(prop["value"], expected), prop
    assert llama33["task"]["id"] == "c329a1f9-323d-4e91-b2aa-582dd4188d34"
    found = search(http, server, search="GPT-OSS")["result"]
    assert {m["name"] for m in found} == {"@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b"}
    by_author = search(http, server, author="baai")["result"]
    assert by_author and all(m["name"].startswith("@cf/baai/") for m in by_author)
    assert search(http, server, search="no-such-thing")["result_info"]["total_count"] == 0


def test_models_search_rejects_bad_paging(http: httpx.Client, server: LocalServer) -> None:
    path = f"/client/v4/accounts/{server.account_id}/ai/models/search"
    for params in ({"per_page": "0"}, {"page": "x"}, {"per_page": "5000"}):
        assert http.get(path, params=params).status_code == 400


# -- request log and control routes ----------------------------------------------------------


def test_request_log_records_what_the_client_sent(http: httpx.Client, server: LocalServer) -> None:
    http.post(run_path(server, LEGACY), json=user("logged"), params={"queueRequest": "false"})
    httpx.post(
        f"{server.root_url}{run_path(server, LEGACY)}",
        json={"x": 1},
        headers={"authorization": "Bearer wrong"},
    )
    first, second = server.requests()
    assert first["method"] == "POST" and first["path"] == run_path(server, LEGACY)
    assert first["query"] == {"queueRequest": "false"}
    assert first["body"] == user("logged")
    assert first["headers"]["authorization"] == "<redacted>" and first["auth_ok"] is True
    assert first["status"] == 200 and first["fault"] is None and first["gateway_id"] is None
    assert second["auth_ok"] is False and second["status"] == 401
    assert server.token not in json.dumps(server.requests())


def test_control_routes_over_http(http: httpx.Client, server: LocalServer) -> None:
    http.post(run_path(server, LEGACY), json=user("x"))
    logged = http.get("/__local__/requests").json()["result"]
    assert [e["path"] for e in logged] == [run_path(server, LEGACY)]
    assert http.delete("/__local__/requests").json()["result"] == []
    assert server.requests() == []

    added = http.post("/__local__/faults", json={"kind": "rate_limit", "count": 2})
    assert added.json()["result"] == [
        {"kind": "rate_limit", "count": 2, "scope": "data", "retry_after": None, "remaining": 2}
    ]
    assert http.post(run_path(server, LEGACY), json=user("x")).status_code == 429
    assert http.get("/__local__/faults").json()["result"][0]["remaining"] == 1
    assert http.delete("/__local__/faults").json()["result"] == []
    assert http.post(run_path(server, LEGACY), json=user("x")).status_code == 200
    assert http.get("/__local__/requests").json()["result"][-1]["fault"] is None

    for spec in (
        {"kind": "nope"},
        {"kind": "latency", "bogus": 1},
        {"kind": "rate_limit", "count": -1},
        {"kind": "rate_limit", "probability": 0},
        {"kind": "rate_limit", "seed": 3},
        [1],
    ):
        bad = http.post("/__local__/faults", json=spec)
        assert bad.status_code == 400 and bad.json()["success"] is False
    unauthenticated = httpx.get(f"{server.root_url}/__local__/requests")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["errors"][0]["code"] == 10000
