"""Authentication, routing and validation errors, in Cloudflare's envelope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from workers_ai_local import LocalServer

LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
EMBED = "@cf/baai/bge-base-en-v1.5"
QWEN_EMBED = "@cf/qwen/qwen3-embedding-0.6b"


def run_path(server: LocalServer, model: str, account: str | None = None) -> str:
    return f"/client/v4/accounts/{account or server.account_id}/ai/run/{model}"


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cf-ray"].endswith("-LOCAL")
    body = response.json()
    assert body["success"] is False and body["result"] is None and body["messages"] == []
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer nope"}, {"authorization": "x"}])
def test_bad_or_missing_token_is_10000(server: LocalServer, headers: dict[str, str]) -> None:
    url = f"{server.root_url}{run_path(server, LEGACY)}"
    response = httpx.post(url, json={"prompt": "x"}, headers=headers)
    assert error_of(response, 401) == {"code": 10000, "message": "Authentication error"}
    search = f"{server.base_url}/accounts/{server.account_id}/ai/models/search"
    assert error_of(httpx.get(search, headers=headers), 401)["code"] == 10000


def test_wrong_account_is_7003(http: httpx.Client, server: LocalServer) -> None:
    path = "/client/v4/accounts/bad-id/ai/v1/chat/completions"
    error = error_of(http.post(path, json={"model": LEGACY, "messages": []}), 404)
    assert error == {
        "code": 7003,
        "message": f"Could not route to {path}, perhaps your object identifier is invalid?",
    }
    error = error_of(http.post(run_path(server, LEGACY, "bad-id"), json={"prompt": "x"}), 404)
    assert error["code"] == 7003
    error = error_of(http.get("/client/v4/accounts/bad-id/ai/models/search"), 404)
    assert error["code"] == 7003


def test_unknown_model_is_5007(http: httpx.Client, server: LocalServer) -> None:
    error = error_of(http.post(run_path(server, "@cf/meta/llama-9"), json={"prompt": "x"}), 400)
    assert error == {"code": 5007, "message": "No such model @cf/meta/llama-9 or task"}
    # Cloudflare does not route a model whose slashes are URL-encoded (error 7000).
    encoded = run_path(server, "%40cf%2Fmeta%2Fllama-3.1-8b-instruct")
    assert error_of(http.post(encoded, json={"prompt": "x"}), 404)["code"] == 7000


def test_unknown_route_and_wrong_method(http: httpx.Client, server: LocalServer) -> None:
    assert error_of(http.get("/client/v4/nothing/here"), 404)["code"] == 7000
    assert error_of(http.get(run_path(server, LEGACY)), 405)["code"] == 7001
    assert [e["status"] for e in server.requests()] == [404, 405]


def test_missing_and_malformed_bodies(http: httpx.Client, server: LocalServer) -> None:
    path = run_path(server, LEGACY)
    assert error_of(http.post(path), 400)["code"] == 3003
    assert error_of(http.post(path, content=b"{nope"), 400)["code"] == 5006
    assert error_of(http.post(path, json=[1, 2]), 400)["code"] == 5006


MSG = [{"role": "user", "content": "hi"}]
BAD_TEXT_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("both", {"prompt": "x", "messages": MSG}, "mutually exclusive"),
    ("neither", {"max_tokens": 5}, "required properties at '/' are 'prompt'"),
    ("empty prompt", {"prompt": ""}, "Length of '/prompt' must be >= 1"),
    ("prompt type", {"prompt": 5}, "Type mismatch of '/prompt', 'integer' not in 'string'"),
    ("messages not list", {"messages": "hi"}, "Type mismatch of '/messages'"),
    ("messages empty", {"messages": []}, "at least 1 item"),
    ("message not object", {"messages": ["hi"]}, "Type mismatch of '/messages/0'"),
    ("unknown role", {"messages": [{"role": "wizard", "content": "x"}]}, "'/messages/0/role'"),
    ("no content", {"messages": [{"role": "user"}]}, "required properties at '/messages/0'"),
    (
        "content null",
        {"messages": [{"role": "assistant", "content": None}]},
        "Type mismatch of '/messages/0/content', 'null' not in 'string'",
    ),
    ("content number", {"messages": [{"role": "user", "content": 3}]}, "/messages/0/content"),
    (
        "bad part",
        {"messages": [{"role": "user", "content": [{"type": "audio", "x": 1}]}]},
        "'/messages/0/content/0/type'",
    ),
    (
        "image without url",
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
        "image_url",
    ),
    (
        "bad tool arguments",
        {
            "messages": [
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": "{oops"}}],
                }
            ]
        },
        "function.arguments must be valid JSON",
    ),
    ("max_tokens type", {"messages": MSG, "max_tokens": "10"}, "'/max_tokens', 'string'"),
    ("max_tokens zero", {"messages": MSG, "max_tokens": 0}, "'/max_tokens' must be >= 1"),
    ("temperature range", {"messages": MSG, "temperature": 5.5}, "'/temperature' must be <= 5"),
    ("temperature bool", {"messages": MSG, "temperature": True}, "'/temperature', 'boolean'"),
    ("top_p range", {"messages": MSG, "top_p": -0.1}, "'/top_p' must be >= 0"),
    ("top_k float", {"messages": MSG, "top_k": 2.5}, "'/top_k', 'number' not in 'integer'"),
    ("top_k range", {"messages": MSG, "top_k": 51}, "'/top_k' must be <= 50"),
    ("seed range", {"messages": MSG, "seed": 0}, "'/seed' must be >= 1"),
    ("repetition range", {"messages": MSG, "repetition_penalty": 2.5}, "repetition_penalty"),
    ("frequency range", {"messages": MSG, "frequency_penalty": -3}, "frequency_penalty"),
    ("presence range", {"messages": MSG, "presence_penalty": 3}, "presence_penalty"),
    ("stream type", {"messages": MSG, "stream": "yes"}, "'/stream', 'string'"),
    ("stop type", {"messages": MSG, "stop": 3}, "'/stop'"),
    ("tools type", {"messages": MSG, "tools": {}}, "'/tools'"),
    ("tool without name", {"messages": MSG, "tools": [{"description": "x"}]}, "'/tools/0'"),
    (
        "unknown tool_choice",
        {"messages": MSG, "tools": [{"name": "f"}], "tool_choice": "g"},
        "tool_choice",
    ),
    ("response_format type", {"messages": MSG, "response_format": {"type": "xml"}}, "type"),
]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b, f) for _, b, f in BAD_TEXT_BODIES],
    ids=[n for n, _, _ in BAD_TEXT_BODIES],
)
def test_text_generation_schema_violations_are_5006(
    http: httpx.Client, server: LocalServer, body: dict[str, Any], fragment: str
) -> None:
    error = error_of(http.post(run_path(server, LEGACY), json=body), 400)
    assert error["code"] == 5006
    assert error["message"].startswith("AiError: Bad input: ")
    assert fragment in error["message"]


BAD_EMBED_BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    ("no text", EMBED, {"prompt": "x"}, "required properties at '/' are 'text'"),
    ("empty text", EMBED, {"text": ""}, "Length of '/text' must be >= 1"),
    ("empty list", EMBED, {"text": []}, "is empty"),
    ("over limit", EMBED, {"text": ["x"] * 101}, "101 items, more than the maximum of 100"),
    ("over qwen limit", QWEN_EMBED, {"text": ["x"] * 33}, "more than the maximum of 32"),
    ("item type", EMBED, {"text": ["ok", 7]}, "Type mismatch of '/text/1'"),
    ("empty item", EMBED, {"text": ["ok", ""]}, "'/text/1' must be >= 1"),
    ("pooling", EMBED, {"text": "x", "pooling": "max"}, "'/pooling'"),
]


@pytest.mark.parametrize(
    ("model", "body", "fragment"),
    [(m, b, f) for _, m, b, f in BAD_EMBED_BODIES],
    ids=[n for n, _, _, _ in BAD_EMBED_BODIES],
)
def test_embedding_schema_violations_are_5006(
    http: httpx.Client, server: LocalServer, model: str, body: dict[str, Any], fragment: str
) -> None:
    error = error_of(http.post(run_path(server, model), json=body), 400)
    assert error["code"] == 5006 and fragment in error["message"]


def test_openai_embeddings_validation(http: httpx.Client, server: LocalServer) -> None:
    path = f"/client/v4/accounts/{server.account_id}/ai/v1/embeddings"
    assert error_of(http.post(path, json={"model": EMBED}), 400)["code"] == 5006
    body = {"model": EMBED, "input": "x", "encoding_format": "int8"}
    assert error_of(http.post(path, json=body), 400)["code"] == 5006
    body = {"model": QWEN_EMBED, "input": ["x"] * 33}
    assert "maximum of 32" in error_of(http.post(path, json=body), 400)["message"]


def test_accepted_message_forms(http: httpx.Client, server: LocalServer) -> None:
    body = {
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "developer", "content": "d"},
            {
                "role": "user",
                "name": "bob",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"name": "f", "arguments": {"a": 1}}],
            },
            {"role": "tool", "content": "done", "tool_call_id": "call_x", "name": "f"},
            {"role": "user", "content": "again"},
            {"role": "user", "content": "and again"},
        ]
    }
    response = http.post(run_path(server, LEGACY), json=body)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["response"] == "Echo: and again"
