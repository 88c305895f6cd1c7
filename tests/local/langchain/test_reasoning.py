"""ChatWorkersAI on reasoning models and the Responses family: reasoning in
``additional_kwargs["reasoning_content"]`` and in v1 ``reasoning`` blocks, whole and streamed;
``reasoning_effort`` and ``thinking`` as fields and per call, checked before the network; and a
tool loop that sends each tool-call turn's reasoning back."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool

from langchain_workers_ai import ChatWorkersAI
from workers_ai import InvalidRequestError, ModelDeprecatedError
from workers_ai_local import LocalServer

GPT = "@cf/openai/gpt-oss-120b"
GLM = "@cf/zai-org/glm-4.7-flash"
LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
THOUGHT = "Thinking ({effort} effort) about: {text}"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


def requests_to_models(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/ai/run/" in r["path"]]


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


@pytest.mark.parametrize("model", [GPT, GLM])
def test_reasoning_reaches_additional_kwargs(server: LocalServer, model: str) -> None:
    answer = ChatWorkersAI(model=model).invoke("Name a sea")
    assert answer.content == "Echo: Name a sea"
    expected = THOUGHT.format(effort="default", text="Name a sea")
    assert answer.additional_kwargs["reasoning_content"] == expected
    streamed = aggregate(list(ChatWorkersAI(model=model).stream("Name a sea")))
    assert streamed.additional_kwargs["reasoning_content"] == expected
    assert streamed.content == "Echo: Name a sea"
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_token_details"]["reasoning"] == 7


@pytest.mark.parametrize("model", [GPT, GLM])
async def test_v1_output_has_reasoning_blocks(server: LocalServer, model: str) -> None:
    llm = ChatWorkersAI(model=model, output_version="v1")
    answer = await llm.ainvoke("Name a sea")
    kinds = [block["type"] for block in answer.content_blocks]
    assert kinds == ["reasoning", "text"]
    assert answer.content_blocks[0]["reasoning"].startswith("Thinking")
    chunks = [c async for c in llm.astream("Name a sea")]
    total = aggregate(chunks)
    assert [b["type"] for b in total.content_blocks] == ["reasoning", "text"]


def test_v1_streamed_tool_calls_survive_the_reasoning_block(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=GLM, output_version="v1").bind_tools([get_weather])
    total = aggregate(list(llm.stream("weather in Paris?", tool_choice="get_weather")))
    calls = [b for b in total.content_blocks if b["type"] == "tool_call"]
    assert [c["name"] for c in calls] == ["get_weather"]
    assert total.tool_calls[0]["args"] == {"city": "weather in Paris?"}


def test_reasoning_effort_as_a_field_and_per_call(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=GPT, reasoning_effort="low")
    answer = llm.invoke("hi")
    assert answer.additional_kwargs["reasoning_content"].startswith("Thinking (low effort)")
    assert requests_to_models(server)[-1]["body"]["reasoning"] == {"effort": "low"}
    llm.invoke("hi", reasoning_effort="high")
    assert requests_to_models(server)[-1]["body"]["reasoning"] == {"effort": "high"}


def test_thinking_as_a_field(server: LocalServer) -> None:
    answer = ChatWorkersAI(model=GLM, thinking=False).invoke("hi")
    assert "reasoning_content" not in answer.additional_kwargs
    assert requests_to_models(server)[-1]["body"]["chat_template_kwargs"] == {
        "enable_thinking": False
    }


def test_bad_reasoning_options_fail_before_the_network(server: LocalServer) -> None:
    with pytest.raises(InvalidRequestError, match="use one of 'low', 'medium', 'high'"):
        ChatWorkersAI(model=GPT, reasoning_effort="max").invoke("hi")
    with pytest.raises(InvalidRequestError, match="is not a reasoning model"):
        ChatWorkersAI(model=LLAMA).invoke("hi", reasoning_effort="low")
    assert requests_to_models(server) == []


def test_a_tool_loop_sends_the_reasoning_back(server: LocalServer) -> None:
    for model, where in ((GLM, "messages"), (GPT, "input")):
        llm = ChatWorkersAI(model=model).bind_tools([get_weather])
        history: list[Any] = [HumanMessage("weather in Paris?")]
        first = llm.invoke(history, tool_choice="get_weather")
        assert isinstance(first, AIMessage) and first.tool_calls
        reasoning = first.additional_kwargs["reasoning_content"]
        call = first.tool_calls[0]
        history += [first, ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])]
        final = llm.invoke(history)
        assert final.content == "Echo: get_weather returned Sunny in weather in Paris?"
        sent = requests_to_models(server)[-1]["body"][where]
        if where == "messages":
            assert sent[1]["reasoning"] == reasoning and sent[1]["tool_calls"]
        else:
            assert sent[1]["content"] == [{"type": "reasoning_text", "text": reasoning}]


def test_v1_messages_send_their_reasoning_blocks_back(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=GLM, output_version="v1").bind_tools([get_weather])
    first = llm.invoke("weather in Paris?", tool_choice="get_weather")
    call = first.tool_calls[0]
    llm.invoke(
        [HumanMessage("weather in Paris?"), first, ToolMessage("rain", tool_call_id=call["id"])]
    )
    sent = requests_to_models(server)[-1]["body"]["messages"][1]
    assert sent["reasoning"] == THOUGHT.format(effort="default", text="weather in Paris?")


def test_profile_comes_from_the_catalog() -> None:
    profile = ChatWorkersAI(model=GPT).profile
    assert profile is not None
    assert profile["max_input_tokens"] == 128000 and profile["tool_calling"]
    assert profile["reasoning_output"] and profile["reasoning_effort_levels"] == [
        "low",
        "medium",
        "high",
    ]
    assert profile["reasoning_effort_default"] == "medium"
    llama = ChatWorkersAI(model=LLAMA).profile
    assert llama is not None and not llama["reasoning_output"]


def test_a_retired_model_fails_with_its_replacement(server: LocalServer) -> None:
    llm = ChatWorkersAI(model="@cf/meta/llama-3.1-8b-instruct")  # retired, on purpose
    with pytest.raises(ModelDeprecatedError, match=r"Use @cf/zai-org/glm-4\.7-flash instead"):
        llm.invoke("hi")
    assert requests_to_models(server) == []
