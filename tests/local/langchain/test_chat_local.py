"""ChatWorkersAI against the local server: every field changes what is sent or done.

The request log (``server.requests()``) shows what reached the server; faults (``inject``) make
the server misbehave the way Cloudflare does.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from pydantic import BaseModel

from langchain_workers_ai import ChatWorkersAI
from tests.local.langchain.images import PNG_1X1_B64
from workers_ai import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    StreamError,
    json_response_format,
)
from workers_ai_local import LocalServer

LEGACY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
VISION = "@cf/meta/llama-4-scout-17b-16e-instruct"


class Joke(BaseModel):
    """A joke."""

    setup: str
    punchline: str


def magic_function(input: int) -> int:
    """Applies a magic function to an input."""
    return input + 2


def data_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/ai/run/" in r["path"] or "/workers-ai/" in r["path"]]


def last_body(server: LocalServer) -> dict[str, Any]:
    body: dict[str, Any] = data_requests(server)[-1]["body"]
    return body


class TokenRecorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


class AsyncTokenRecorder(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(
        self, token: str, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self.tokens.append(token)


# -- every field changes what is sent -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "override"),
    [
        ("temperature", 0.25, 0.0),
        ("max_tokens", 77, 12),
        ("top_p", 0.5, 0.9),
        ("top_k", 7, 40),
        ("seed", 1234, 99),
        ("repetition_penalty", 1.1, 1.5),
        ("frequency_penalty", 0.3, 0.0),
        ("presence_penalty", 0.4, 1.0),
    ],
)
def test_sampling_fields_are_sent_and_a_call_can_override_them(
    server: LocalServer, field: str, value: Any, override: Any
) -> None:
    llm = ChatWorkersAI(model=LEGACY, **{field: value})
    llm.invoke("hi")
    assert last_body(server)[field] == value
    llm.invoke("hi", **{field: override})
    assert last_body(server)[field] == override


def test_unset_fields_are_not_sent(server: LocalServer) -> None:
    ChatWorkersAI(model=LEGACY).invoke("hi")
    assert set(last_body(server)) == {"messages"}


def test_stop_from_the_model_and_from_the_call(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=LEGACY, stop=["END"])
    llm.invoke("hi")
    assert last_body(server)["stop"] == ["END"]
    llm.invoke("hi", stop=["HALT"])
    assert last_body(server)["stop"] == ["HALT"]


def test_model_kwargs_and_unknown_constructor_arguments_are_sent(server: LocalServer) -> None:
    with pytest.warns(UserWarning, match="raw"):
        llm = ChatWorkersAI(model=LEGACY, raw=False, model_kwargs={"lora": "my-adapter"})
    llm.invoke("hi")
    body = last_body(server)
    assert body["raw"] is False
    assert body["lora"] == "my-adapter"


def test_per_call_model_override(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=LEGACY)
    answer = llm.invoke("hi", model="@cf/meta/llama-3.1-8b-instruct-fp8")
    assert data_requests(server)[-1]["path"].endswith("/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8")
    assert answer.response_metadata["model_name"] == "@cf/meta/llama-3.1-8b-instruct-fp8"


def test_account_id_is_the_path_and_a_wrong_one_is_not_found(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=LEGACY, account_id="someone-else")
    with pytest.raises(NotFoundError):
        llm.invoke("hi")
    assert "/accounts/someone-else/" in data_requests(server)[-1]["path"]


def test_a_wrong_api_token_is_refused_and_not_retried(server: LocalServer) -> None:
    with pytest.raises(AuthenticationError) as caught:
        ChatWorkersAI(model=LEGACY, api_key="not-the-token").invoke("hi")
    assert "not-the-token" not in str(caught.value)
    assert [r["auth_ok"] for r in data_requests(server)] == [False]


def test_base_url_decides_where_requests_go(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=LEGACY, base_url="http://127.0.0.1:9/client/v4", max_retries=0)
    with pytest.raises(APIConnectionError):
        llm.invoke("hi")
    assert data_requests(server) == []


def test_gateway_id_routes_through_ai_gateway(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKERS_AI_GATEWAY_URL", server.gateway_url)
    ChatWorkersAI(model=LEGACY, gateway_id="my-gateway").invoke("hi")
    request = data_requests(server)[-1]
    assert request["gateway_id"] == "my-gateway"
    assert request["path"] == f"/v1/{server.account_id}/my-gateway/workers-ai/{LEGACY}"


def test_timeout_bounds_each_attempt(server: LocalServer) -> None:
    server.inject("latency", delay=2.0)
    with pytest.raises(APITimeoutError):
        ChatWorkersAI(model=LEGACY, timeout=0.2, max_retries=0).invoke("hi")


def test_max_retries_through_the_model(server: LocalServer) -> None:
    server.inject("rate_limit", count=1, retry_after=0)
    with pytest.raises(RateLimitError):
        ChatWorkersAI(model=LEGACY, max_retries=0).invoke("hi")
    server.reset()
    server.inject("rate_limit", count=2, retry_after=0)
    answer = ChatWorkersAI(model=LEGACY, max_retries=2).invoke("hi")
    assert answer.content == "Echo: hi"
    assert [r["status"] for r in data_requests(server)] == [429, 429, 200]


async def test_max_retries_through_the_model_async(server: LocalServer) -> None:
    server.inject("server_error", count=1)
    answer = await ChatWorkersAI(model=OPENAI, max_retries=1).ainvoke("hi")
    assert answer.content == "Echo: hi"
    assert [r["status"] for r in data_requests(server)] == [500, 200]


# -- streaming ------------------------------------------------------------------------------


def test_streaming_true_makes_invoke_stream_and_report_each_delta(server: LocalServer) -> None:
    recorder = TokenRecorder()
    llm = ChatWorkersAI(model=LEGACY, streaming=True)
    answer = llm.invoke("one two three", config={"callbacks": [recorder]})
    assert last_body(server)["stream"] is True
    assert answer.content == "Echo: one two three"
    assert "".join(recorder.tokens) == "Echo: one two three"
    assert len([t for t in recorder.tokens if t]) == 4
    assert answer.usage_metadata is not None


def test_without_streaming_invoke_does_not_stream(server: LocalServer) -> None:
    ChatWorkersAI(model=LEGACY).invoke("hi")
    assert "stream" not in last_body(server)


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
def test_every_text_delta_reaches_on_llm_new_token_once(server: LocalServer, model: str) -> None:
    recorder = TokenRecorder()
    chunks = list(
        ChatWorkersAI(model=model).stream("alpha beta gamma", config={"callbacks": [recorder]})
    )
    assert recorder.tokens == [c.content for c in chunks]
    assert "".join(recorder.tokens) == "Echo: alpha beta gamma"


async def test_every_text_delta_reaches_on_llm_new_token_async(server: LocalServer) -> None:
    recorder = AsyncTokenRecorder()
    chunks = [
        c
        async for c in ChatWorkersAI(model=OPENAI).astream(
            "alpha beta", config={"callbacks": [recorder]}
        )
    ]
    assert recorder.tokens == [c.content for c in chunks]
    assert "".join(recorder.tokens) == "Echo: alpha beta"


@pytest.mark.parametrize("model", [LEGACY, OPENAI, VISION])
def test_usage_and_model_name_arrive_once_on_the_last_chunk(
    server: LocalServer, model: str
) -> None:
    chunks = list(ChatWorkersAI(model=model).stream("count these four words"))
    with_usage = [i for i, c in enumerate(chunks) if c.usage_metadata]
    with_model = [i for i, c in enumerate(chunks) if "model_name" in c.response_metadata]
    assert with_usage == with_model == [len(chunks) - 1]
    assert chunks[-1].chunk_position == "last"
    total = sum(chunks[1:], chunks[0])
    assert isinstance(total, AIMessageChunk)
    assert total.response_metadata["model_name"] == model
    assert total.usage_metadata is not None
    # The echo counts words: Echo: + 4, besides what a reasoning model (qwen3) spent thinking.
    reasoning = total.usage_metadata.get("output_token_details", {}).get("reasoning", 0)
    assert total.usage_metadata["output_tokens"] - reasoning == 5


def test_openai_stream_usage_is_asked_for_and_reported_once(server: LocalServer) -> None:
    chunks = list(ChatWorkersAI(model=OPENAI).stream("a b c"))
    assert last_body(server)["stream_options"] == {"include_usage": True}
    assert sum(1 for c in chunks if c.usage_metadata) == 1


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
def test_stream_usage_false(server: LocalServer, model: str) -> None:
    chunks = list(ChatWorkersAI(model=model, stream_usage=False).stream("a b c"))
    assert all(c.usage_metadata is None for c in chunks)
    if model == OPENAI:
        assert last_body(server)["stream_options"] == {"include_usage": False}
    # A call can turn it back on.
    chunks = list(ChatWorkersAI(model=model, stream_usage=False).stream("a b", stream_usage=True))
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def test_a_cut_stream_raises_instead_of_returning_partial_text(server: LocalServer) -> None:
    server.inject("cut_stream", after=2)
    with pytest.raises(StreamError):
        list(ChatWorkersAI(model=LEGACY).stream("one two three four five"))


# -- tools ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [LEGACY, OPENAI, VISION])
def test_forced_tool_call_on_invoke_and_stream(server: LocalServer, model: str) -> None:
    llm = ChatWorkersAI(model=model).bind_tools([magic_function], tool_choice="magic_function")
    answer = llm.invoke("What is magic_function(3)?")
    assert isinstance(answer, AIMessage)
    assert [(c["name"], c["args"]) for c in answer.tool_calls] == [("magic_function", {"input": 3})]
    body = last_body(server)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "magic_function"}}
    assert body["tools"][0]["function"]["name"] == "magic_function"

    chunks = list(llm.stream("What is magic_function(3)?"))
    total = sum(chunks[1:], chunks[0])
    assert isinstance(total, AIMessageChunk)
    assert [(c["name"], c["args"]) for c in total.tool_calls] == [("magic_function", {"input": 3})]
    assert any(c.tool_call_chunks for c in chunks)


def test_tool_round_trip_with_an_error_result(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=OPENAI)
    call = {"name": "magic_function", "args": {"input": 3}, "id": "call_1"}
    llm.invoke(
        [
            HumanMessage("What is magic_function(3)?"),
            AIMessage("", tool_calls=[call]),
            ToolMessage("it exploded", tool_call_id="call_1", status="error"),
        ]
    )
    messages = last_body(server)["messages"]
    assert messages[1]["content"] == ""
    assert messages[1]["tool_calls"][0]["id"] == "call_1"
    assert messages[2] == {
        "role": "tool",
        "content": "Error: it exploded",
        "tool_call_id": "call_1",
    }


# -- structured output ----------------------------------------------------------------------


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
def test_json_schema_uses_workers_ai_json_mode(server: LocalServer, model: str) -> None:
    structured = ChatWorkersAI(model=model).with_structured_output(Joke)
    joke = structured.invoke("Tell me a joke about cats")
    assert isinstance(joke, Joke)
    response_format = last_body(server)["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]
    if model == OPENAI:  # OpenAI-style models take OpenAI's envelope, native ones a bare schema
        schema = schema["schema"]
    assert set(schema["properties"]) == {"setup", "punchline"}


def test_json_mode_does_not_stream_on_workers_ai(server: LocalServer) -> None:
    chunks = list(ChatWorkersAI(model=LEGACY).with_structured_output(Joke).stream("cats"))
    assert all(isinstance(c, Joke) for c in chunks)
    assert "stream" not in last_body(server)


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
async def test_json_mode_streams_one_whole_chunk_sync_and_async(
    server: LocalServer, model: str
) -> None:
    """The core's rule, not the adapter's: a stream in JSON mode is sent without stream=true
    (nor stream_options) and the whole JSON answer comes as the one, last chunk."""
    llm = ChatWorkersAI(model=model, stream_usage=False).bind(
        response_format=json_response_format(Joke)
    )
    sync_chunks = list(llm.stream("cats"))
    async_chunks = [chunk async for chunk in llm.astream("cats")]
    for chunks in (sync_chunks, async_chunks):
        assert len(chunks) == 1
        assert isinstance(chunks[0], AIMessageChunk)
        assert chunks[0].chunk_position == "last"
        Joke.model_validate_json(str(chunks[0].content))
    for request in data_requests(server):
        assert "stream" not in request["body"]
        assert "stream_options" not in request["body"]


def test_structured_output_include_raw(server: LocalServer) -> None:
    result = (
        ChatWorkersAI(model=OPENAI)
        .with_structured_output(Joke, method="function_calling", include_raw=True)
        .invoke("Tell me a joke about cats")
    )
    assert isinstance(result, dict)
    assert isinstance(result["raw"], AIMessage)
    assert isinstance(result["parsed"], Joke)
    assert result["parsing_error"] is None


# -- images ---------------------------------------------------------------------------------


def test_images_reach_a_vision_model_as_data_urls(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=VISION)
    llm.invoke(
        [
            HumanMessage(
                [
                    {"type": "text", "text": "Describe both."},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{PNG_1X1_B64}"},
                    },
                    {"type": "image", "base64": PNG_1X1_B64, "mime_type": "image/png"},
                ]
            )
        ]
    )
    content = last_body(server)["messages"][0]["content"]
    assert [p["type"] for p in content] == ["text", "image_url", "image_url"]
    assert {p["image_url"]["url"] for p in content[1:]} == {f"data:image/png;base64,{PNG_1X1_B64}"}


# -- async: one connection pool -------------------------------------------------------------


async def test_fifty_concurrent_ainvoke_share_one_connection_pool(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[httpx.AsyncClient] = []
    original = httpx.AsyncClient.__init__

    def counting_init(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        created.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "__init__", counting_init)
    llm = ChatWorkersAI(model=LEGACY)
    answers = await asyncio.gather(*(llm.ainvoke(f"question {i}") for i in range(50)))
    assert [a.content for a in answers] == [f"Echo: question {i}" for i in range(50)]
    assert len(created) == 1
    assert len(data_requests(server)) == 50
    await llm.aclose()


def test_a_model_object_survives_several_event_loops(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=LEGACY)
    first = asyncio.run(llm.ainvoke("one"))
    second = asyncio.run(llm.ainvoke("two"))
    assert (first.content, second.content) == ("Echo: one", "Echo: two")


async def test_batch_and_abatch(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=OPENAI)
    assert [m.content for m in llm.batch(["a", "b"])] == ["Echo: a", "Echo: b"]
    assert [m.content for m in await llm.abatch(["c", "d"])] == ["Echo: c", "Echo: d"]
