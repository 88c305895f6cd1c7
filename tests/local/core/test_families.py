"""Every result family through the core client against the local server, sync and async:
invoke, stream, tools (whole and streamed), structured output and usage; then reasoning and
the model lifecycle (retired, paid-plan, unknown and prefix-less names) end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.local.core.conftest import connect
from workers_ai import (
    AsyncWorkersAI,
    ChatChunk,
    ChatResult,
    ModelDeprecatedError,
    NotFoundError,
    PaidPlanRequiredError,
    WorkersAI,
    _operations,
)
from workers_ai_local import LocalServer

# One model per shape: legacy ``response``, llama-4 scout, chat.completion (qwen3, which
# reasons), the Responses API (gpt-oss, which reasons at every effort).
FAMILIES = {
    "legacy": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "scout": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "openai": "@cf/qwen/qwen3-30b-a3b-fp8",
    "responses": "@cf/openai/gpt-oss-120b",
}
REASONS = {"openai", "responses"}
# The native shapes send no finish reason for plain text (only the tool-call one is inferred).
FINISH = {"legacy": None, "scout": None, "openai": "stop", "responses": "stop"}
ASK = [{"role": "user", "content": "Name a sea please"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK_WEATHER = [{"role": "user", "content": "What is the weather in Paris?"}]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@pytest.fixture(params=sorted(FAMILIES))
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Calls:
    """The core's chat calls, run sync or async with the same arguments."""

    def __init__(self, server: LocalServer, mode: str) -> None:
        self.server, self.mode = server, mode

    def chat(self, model: str, messages: Any, **options: Any) -> ChatResult:
        if self.mode == "sync":
            with WorkersAI(**connect(self.server)) as client:
                return client.chat(model, messages, **options)

        async def run() -> ChatResult:
            async with AsyncWorkersAI(**connect(self.server)) as client:
                return await client.chat(model, messages, **options)

        return _run(run())

    def stream(self, model: str, messages: Any, **options: Any) -> list[ChatChunk]:
        if self.mode == "sync":
            with WorkersAI(**connect(self.server)) as client:
                return list(client.stream_chat(model, messages, **options))

        async def run() -> list[ChatChunk]:
            async with AsyncWorkersAI(**connect(self.server)) as client:
                chunks: AsyncIterator[ChatChunk] = client.stream_chat(model, messages, **options)
                return [c async for c in chunks]

        return _run(run())


def _run(coroutine: Any) -> Any:
    import asyncio

    return asyncio.run(coroutine)


@pytest.fixture
def calls(server: LocalServer, mode: str) -> Calls:
    return Calls(server, mode)


def test_invoke(calls: Calls, family: str) -> None:
    result = calls.chat(FAMILIES[family], ASK, max_tokens=64)
    assert result.text == "Echo: Name a sea please"
    assert result.finish_reason == FINISH[family] and result.model == FAMILIES[family]
    if family in REASONS:
        assert result.reasoning == "Thinking (default effort) about: Name a sea please"
    else:
        assert result.reasoning is None


def test_usage(calls: Calls, family: str) -> None:
    usage = calls.chat(FAMILIES[family], ASK).usage
    assert usage is not None
    reasoning = 8 if family in REASONS else 0  # the words of the echo's reasoning line
    assert (usage.prompt_tokens, usage.completion_tokens) == (4, 5 + reasoning)
    assert usage.total_tokens == 9 + reasoning
    if family in REASONS:
        assert usage.reasoning_tokens == 8


def test_stream(calls: Calls, family: str) -> None:
    chunks = calls.stream(FAMILIES[family], ASK)
    assert "".join(c.text for c in chunks) == "Echo: Name a sea please"
    last = chunks[-1]
    assert last.is_last and last.finish_reason == FINISH[family]
    assert last.model == FAMILIES[family]
    assert [c for c in chunks if c.usage is not None] == [last]
    thought = "".join(c.reasoning for c in chunks)
    assert thought == (
        "Thinking (default effort) about: Name a sea please" if family in REASONS else ""
    )


def test_tools(calls: Calls, family: str) -> None:
    result = calls.chat(FAMILIES[family], ASK_WEATHER, tools=[WEATHER], tool_choice="get_weather")
    (call,) = result.tool_calls
    assert call.name == "get_weather" and call.arguments == {"city": ASK_WEATHER[0]["content"]}
    assert result.finish_reason == "tool_calls"
    # The round trip: the call, its result, and the model's answer to it.
    turn = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.raw_arguments},
            }
        ],
    }
    if result.reasoning:
        turn["reasoning"] = result.reasoning
    history = [*ASK_WEATHER, turn, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    answer = calls.chat(FAMILIES[family], history, tools=[WEATHER])
    assert answer.text == "Echo: get_weather returned sunny"


def test_streamed_tool_calls(calls: Calls, family: str) -> None:
    chunks = calls.stream(FAMILIES[family], ASK_WEATHER, tools=[WEATHER], tool_choice="required")
    deltas = [d for c in chunks for d in c.tool_calls]
    assert deltas[0].name == "get_weather" and deltas[0].id
    arguments = "".join(d.arguments for d in deltas)
    assert arguments.replace(" ", "") == '{"city":"Whatistheweatherin' + 'Paris?"}'
    assert chunks[-1].finish_reason == "tool_calls"


def test_structured_output(calls: Calls, family: str) -> None:
    result = calls.chat(
        FAMILIES[family],
        [{"role": "user", "content": "Ada Lovelace"}],
        response_format={"type": "json_schema", "json_schema": PERSON},
    )
    assert result.parsed == {"name": "Ada Lovelace"}


def test_reasoning_effort_reaches_the_model(calls: Calls, server: LocalServer) -> None:
    result = calls.chat(FAMILIES["responses"], ASK, reasoning_effort="low")
    assert result.reasoning == "Thinking (low effort) about: Name a sea please"
    assert server.requests()[-1]["body"]["reasoning"] == {"effort": "low"}


def test_the_reasoning_of_a_tool_call_turn_is_sent_back(calls: Calls, server: LocalServer) -> None:
    model = FAMILIES["responses"]
    first = calls.chat(model, ASK_WEATHER, tools=[WEATHER], tool_choice="required")
    (call,) = first.tool_calls
    turn = {
        "role": "assistant",
        "content": "",
        "reasoning": first.reasoning,
        "tool_calls": [
            {"id": call.id, "function": {"name": call.name, "arguments": call.raw_arguments}}
        ],
    }
    calls.chat(
        model, [*ASK_WEATHER, turn, {"role": "tool", "tool_call_id": call.id, "content": "x"}]
    )
    sent = server.requests()[-1]["body"]["input"]
    assert sent[1] == {
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": first.reasoning}],
    }
    assert sent[2]["type"] == "function_call" and sent[2]["call_id"] == call.id
    assert sent[3] == {"type": "function_call_output", "call_id": call.id, "output": "x"}


def test_thinking_off(client: WorkersAI, server: LocalServer) -> None:
    glm = "@cf/zai-org/glm-4.7-flash"
    assert client.chat(glm, ASK).reasoning
    quiet = client.chat(glm, ASK, thinking=False)
    assert quiet.reasoning is None and quiet.text == "Echo: Name a sea please"
    assert server.requests()[-1]["body"]["chat_template_kwargs"] == {"enable_thinking": False}


def test_stop_on_the_responses_family_is_applied_by_the_client(client: WorkersAI) -> None:
    model = FAMILIES["responses"]
    prompt = [{"role": "user", "content": "thank you kindly"}]
    assert client.chat(model, prompt, stop=["you"]).text == "Echo: thank "
    assert (
        "".join(c.text for c in client.stream_chat(model, prompt, stop=["you"])) == "Echo: thank "
    )


# -- paid plan -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paid_server() -> Iterator[LocalServer]:
    with LocalServer(port=0, paid_plan=True) as server:
        yield server


def test_a_paid_model_on_the_free_plan(client: WorkersAI, server: LocalServer) -> None:
    with pytest.raises(PaidPlanRequiredError) as caught:
        client.chat("@cf/moonshotai/kimi-k2.6", ASK)
    error = caught.value
    assert (error.status, error.code) == (403, 5035)
    assert error.alternatives and all(a.startswith("@cf/") for a in error.alternatives)
    assert "needs the Workers Paid plan" in str(error)
    assert f"Free-plan models for the same task: {', '.join(error.alternatives)}" in str(error)
    assert len(server.requests()) == 1  # a 403 is not retried


def test_a_paid_model_falls_back_to_a_free_one(server: LocalServer) -> None:
    with WorkersAI(**connect(server), fallback_models=["@cf/zai-org/glm-4.7-flash"]) as client:
        assert client.chat("@cf/moonshotai/kimi-k2.6", ASK).model == "@cf/zai-org/glm-4.7-flash"


def test_kimi_on_a_paid_account_reasons_in_its_own_field(paid_server: LocalServer) -> None:
    with WorkersAI(**connect(paid_server)) as client:
        result = client.chat("@cf/moonshotai/kimi-k2.6", ASK, thinking=True)
        assert result.reasoning == "Thinking (default effort) about: Name a sea please"
        message = result.raw["choices"][0]["message"]
        assert "reasoning" in message and "reasoning_content" not in message
        chunks = list(client.stream_chat("@cf/moonshotai/kimi-k2.6", ASK))
        assert "".join(c.reasoning for c in chunks).startswith("Thinking")
        off = client.chat("@cf/moonshotai/kimi-k2.6", ASK, thinking=False)
        assert off.reasoning is None


# -- lifecycle and names ---------------------------------------------------------------------------


def test_a_retired_model_fails_before_the_network(client: WorkersAI, server: LocalServer) -> None:
    # Retired on 2026-05-30: this test names it on purpose.
    with pytest.raises(ModelDeprecatedError, match=r"Use @cf/zai-org/glm-4\.7-flash instead"):
        client.chat("@cf/meta/llama-3.1-8b-instruct", ASK)
    with pytest.raises(ModelDeprecatedError):
        client.embed("@cf/meta/llama-3.1-8b-instruct", ["x"])
    assert server.requests() == []


def test_cloudflares_410_is_mapped_when_the_catalog_did_not_know(
    client: WorkersAI, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_operations, "checked_model", lambda name: name)  # a stale catalog
    with pytest.raises(ModelDeprecatedError) as caught:
        client.chat("@cf/meta/llama-3.1-8b-instruct", ASK)  # retired, on purpose
    error = caught.value
    assert (error.status, error.code, error.deprecated_on) == (410, 5028, "2026-05-30")
    assert error.replacement == "@cf/zai-org/glm-4.7-flash"


def test_an_unknown_model_gets_did_you_mean(client: WorkersAI) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.chat("@cf/meta/llama-3.3-70b-instruct-fp8-fsat", ASK)
    assert "Did you mean @cf/meta/llama-3.3-70b-instruct-fp8-fast" in str(caught.value)


def test_a_name_without_its_prefix_is_recognised(client: WorkersAI, server: LocalServer) -> None:
    result = client.chat("meta/llama-3.3-70b-instruct-fp8-fast", ASK)
    assert result.model == FAMILIES["legacy"]
    assert server.requests()[-1]["path"].endswith(
        "/ai/run/@cf/meta/llama-3.3-70b-instruct-fp8-fast"
    )
