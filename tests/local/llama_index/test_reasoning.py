"""LlamaIndex WorkersAI on reasoning models and the Responses family: ThinkingBlocks whole and
streamed (``thinking_delta``), ``reasoning_effort`` and ``thinking`` as fields and per call, a
tool round trip that sends the ThinkingBlock back, and a FunctionAgent on gpt-oss."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock, ToolCallBlock
from llama_index.core.tools import FunctionTool

from tests.local.llama_index.conftest import local_llm
from workers_ai import InvalidRequestError
from workers_ai_local import LocalServer

GPT = "@cf/openai/gpt-oss-120b"
GLM = "@cf/zai-org/glm-4.7-flash"


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


WEATHER = FunctionTool.from_defaults(get_weather)


def model_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/ai/run/" in r["path"]]


def thinking(message: ChatMessage) -> str:
    return "".join(b.content or "" for b in message.blocks if isinstance(b, ThinkingBlock))


@pytest.mark.parametrize("model", [GPT, GLM])
async def test_thinking_blocks_whole_and_streamed(server: LocalServer, model: str) -> None:
    llm = local_llm(server, model=model)
    messages = [ChatMessage(role="user", content="Name a sea")]
    answer = llm.chat(messages)
    assert answer.message.content == "Echo: Name a sea"
    assert thinking(answer.message) == "Thinking (default effort) about: Name a sea"
    assert answer.additional_kwargs["reasoning_tokens"] == 7
    deltas, last = [], None
    async for response in await llm.astream_chat(messages):
        deltas.append(response.additional_kwargs.get("thinking_delta", ""))
        last = response
    assert last is not None and thinking(last.message) == "".join(deltas)
    assert last.message.content == "Echo: Name a sea"


def test_reasoning_effort_and_thinking_fields(server: LocalServer) -> None:
    llm = local_llm(server, model=GPT, reasoning_effort="low")
    answer = llm.chat([ChatMessage(role="user", content="hi")])
    assert thinking(answer.message).startswith("Thinking (low effort)")
    assert model_requests(server)[-1]["body"]["reasoning"] == {"effort": "low"}
    llm.complete("hi", reasoning_effort="high")
    assert model_requests(server)[-1]["body"]["reasoning"] == {"effort": "high"}
    quiet = local_llm(server, model=GLM, thinking=False).chat(
        [ChatMessage(role="user", content="x")]
    )
    assert thinking(quiet.message) == ""
    assert model_requests(server)[-1]["body"]["chat_template_kwargs"] == {"enable_thinking": False}


def test_bad_efforts_fail_before_the_network(server: LocalServer) -> None:
    with pytest.raises(InvalidRequestError, match="use one of 'low', 'medium', 'high'"):
        local_llm(server, model=GPT, reasoning_effort="none").complete("hi")
    assert model_requests(server) == []


@pytest.mark.parametrize(("model", "where"), [(GLM, "messages"), (GPT, "input")])
def test_a_tool_round_trip_sends_the_thinking_back(
    server: LocalServer, model: str, where: str
) -> None:
    llm = local_llm(server, model=model)
    first = llm.chat_with_tools([WEATHER], user_msg="weather in Paris?", tool_required=True)
    assert [b for b in first.message.blocks if isinstance(b, ToolCallBlock)]
    (selection,) = llm.get_tool_calls_from_response(first)
    history = [
        ChatMessage(role="user", content="weather in Paris?"),
        first.message,
        ChatMessage(
            role="tool",
            content=get_weather(**selection.tool_kwargs),
            additional_kwargs={"tool_call_id": selection.tool_id},
        ),
    ]
    final = llm.chat_with_tools([WEATHER], chat_history=history)
    assert final.message.content == "Echo: get_weather returned Sunny in weather in Paris?"
    sent = model_requests(server)[-1]["body"][where][1]
    if where == "messages":
        assert sent["reasoning"] == thinking(first.message)
    else:
        assert sent["content"] == [{"type": "reasoning_text", "text": thinking(first.message)}]


async def test_a_function_agent_on_gpt_oss(server: LocalServer) -> None:
    agent = FunctionAgent(tools=[WEATHER], llm=local_llm(server, model=GPT))
    answer = await agent.run("weather in Paris?")
    assert "get_weather returned Sunny in" in str(answer)
    calls = [r for r in model_requests(server) if r["body"].get("tools")]
    assert len(calls) >= 2  # the call, then the answer to its result
