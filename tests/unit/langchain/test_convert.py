"""Pure conversions between LangChain messages and the core's wire types (no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_workers_ai._convert import (
    ai_message,
    merge_consecutive,
    message_chunk,
    message_to_wire,
    messages_to_wire,
    tool_to_wire,
    usage_metadata,
    user_content,
)
from workers_ai import ChatChunk, ChatResult, ToolCall, ToolCallDelta, Usage
from workers_ai.adapters import normalize_tool_choice

DATA_URL = "data:image/png;base64,iVBORw0KGgo="


# -- messages in ------------------------------------------------------------------------------


def test_system_human_ai_tool_roles() -> None:
    wire = [
        message_to_wire(m)
        for m in (
            SystemMessage("be brief"),
            HumanMessage("hi"),
            AIMessage("hello"),
            ToolMessage("42", tool_call_id="call_1"),
        )
    ]
    assert wire == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "tool", "content": "42", "tool_call_id": "call_1"},
    ]


def test_ai_message_with_tool_calls_has_empty_string_content_and_json_arguments() -> None:
    message = AIMessage(
        content="",
        tool_calls=[{"name": "add", "args": {"a": 1, "b": "é"}, "id": "call_9"}],
    )
    wire = message_to_wire(message)
    assert wire["content"] == ""
    assert wire["tool_calls"] == [
        {
            "id": "call_9",
            "type": "function",
            "function": {
                "name": "add",
                "arguments": json.dumps({"a": 1, "b": "é"}, ensure_ascii=False),
            },
        }
    ]


def test_ai_message_list_content_keeps_text_and_drops_tool_use_blocks() -> None:
    message = AIMessage(
        content=[
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {"x": 1}},
        ],
        tool_calls=[{"name": "f", "args": {"x": 1}, "id": "call_1"}],
    )
    wire = message_to_wire(message)
    assert wire["content"] == "Let me check."
    assert [c["id"] for c in wire["tool_calls"]] == ["call_1"]


def test_ai_message_invalid_tool_calls_are_not_sent() -> None:
    message = AIMessage(
        content="",
        invalid_tool_calls=[{"name": "f", "args": "{oops", "id": "call_1", "error": "bad"}],
    )
    assert "tool_calls" not in message_to_wire(message)


def test_tool_message_error_status_is_said_in_the_text() -> None:
    failed = ToolMessage("division by zero", tool_call_id="call_1", status="error")
    assert message_to_wire(failed)["content"] == "Error: division by zero"
    already = ToolMessage("Error: boom", tool_call_id="call_1", status="error")
    assert message_to_wire(already)["content"] == "Error: boom"


def test_tool_message_list_content_becomes_text() -> None:
    message = ToolMessage(
        [{"type": "text", "text": "a"}, {"type": "json", "json": {"b": 1}}], tool_call_id="c"
    )
    assert message_to_wire(message)["content"] == 'a\n{"b": 1}'


def test_names_are_passed_on() -> None:
    assert message_to_wire(HumanMessage("hi", name="ada"))["name"] == "ada"
    assert message_to_wire(AIMessage("yo", name="bot"))["name"] == "bot"


@pytest.mark.parametrize(
    ("role", "wire_role"),
    [("developer", "system"), ("human", "user"), ("ai", "assistant"), ("user", "user")],
)
def test_chat_message_roles(role: str, wire_role: str) -> None:
    assert message_to_wire(ChatMessage(content="x", role=role))["role"] == wire_role


def test_unknown_roles_and_message_types_are_refused() -> None:
    with pytest.raises(ValueError, match="narrator"):
        message_to_wire(ChatMessage(content="x", role="narrator"))
    with pytest.raises(ValueError, match="FunctionMessage"):
        message_to_wire(FunctionMessage(content="x", name="f"))
    with pytest.raises(ValueError, match="No messages"):
        messages_to_wire([])


def test_user_content_all_text_becomes_a_string() -> None:
    assert user_content(["a", {"type": "text", "text": "b"}]) == "a\nb"


def test_user_content_openai_image_url_parts_pass_through() -> None:
    parts = user_content(
        [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": DATA_URL}]
    )
    assert parts == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": DATA_URL}},
    ]


def test_user_content_v1_image_blocks_become_data_urls() -> None:
    parts = user_content(
        [
            {"type": "text", "text": "describe"},
            {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
            {"type": "image", "url": "https://example.com/cat.png"},
        ]
    )
    assert parts[1] == {"type": "image_url", "image_url": {"url": DATA_URL}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


@pytest.mark.parametrize(
    "block",
    [
        {"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"},
        {"type": "file", "base64": "AAAA", "mime_type": "application/pdf"},
        {"type": "image_url", "image_url": {}},
    ],
)
def test_user_content_refuses_what_workers_ai_cannot_take(block: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        user_content([{"type": "text", "text": "x"}, block])


def test_consecutive_same_role_messages_are_merged() -> None:
    wire = messages_to_wire(
        [
            SystemMessage("one"),
            SystemMessage("two"),
            HumanMessage("a"),
            HumanMessage([{"type": "image_url", "image_url": {"url": DATA_URL}}]),
            AIMessage("x"),
            AIMessage("y"),
            HumanMessage("last"),
        ]
    )
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "user"]
    assert wire[0]["content"] == "one\n\ntwo"
    assert wire[1]["content"] == [
        {"type": "text", "text": "a"},
        {"type": "image_url", "image_url": {"url": DATA_URL}},
    ]
    assert wire[2]["content"] == "x\n\ny"


def test_merging_keeps_tool_turns_and_different_names_apart() -> None:
    calls = [{"name": "f", "args": {}, "id": "c1"}]
    wire = merge_consecutive(
        [
            message_to_wire(AIMessage("", tool_calls=calls)),
            message_to_wire(AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c2"}])),
            message_to_wire(ToolMessage("1", tool_call_id="c1")),
            message_to_wire(ToolMessage("2", tool_call_id="c2")),
            message_to_wire(HumanMessage("hi", name="ada")),
            message_to_wire(HumanMessage("hi", name="bob")),
        ]
    )
    assert len(wire) == 6


def test_merging_does_not_mutate_its_input() -> None:
    first, second = {"role": "user", "content": "a"}, {"role": "user", "content": "b"}
    merge_consecutive([first, second])  # type: ignore[list-item]
    assert first == {"role": "user", "content": "a"}


# -- tools ------------------------------------------------------------------------------------


class GetWeather(BaseModel):
    """Get the weather for a city."""

    city: str = Field(description="the city")


def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


@tool
def shout(text: str) -> str:
    """Shout text."""
    return text.upper()


def no_docstring(x: int) -> int:
    return x


JSON_SCHEMA_TOOL = {
    "title": "lookup",
    "description": "Look a word up.",
    "type": "object",
    "properties": {"word": {"type": "string"}},
    "required": ["word"],
}


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        (GetWeather, "GetWeather"),
        (multiply, "multiply"),
        (shout, "shout"),
        (JSON_SCHEMA_TOOL, "lookup"),
    ],
)
def test_tools_become_openai_function_tools(spec: Any, name: str) -> None:
    wire = tool_to_wire(spec)
    assert wire["type"] == "function"
    assert wire["function"]["name"] == name
    assert wire["function"]["description"]
    assert wire["function"]["parameters"]["type"] == "object"


def test_a_tool_without_description_still_has_the_key() -> None:
    assert tool_to_wire(no_docstring)["function"]["description"] == ""


MULTIPLY = {"type": "function", "function": {"name": "multiply"}}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        ("multiply", MULTIPLY),
        (True, MULTIPLY),
        (False, "none"),
        (MULTIPLY, MULTIPLY),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    """bind_tools' tool_choice forms, mapped by the core's one mapping."""
    assert normalize_tool_choice(choice, ["multiply"]) == expected


def test_tool_choice_must_name_a_bound_tool() -> None:
    with pytest.raises(ValueError, match="divide"):
        normalize_tool_choice("divide", ["multiply"])
    with pytest.raises(ValueError, match="exactly one"):
        normalize_tool_choice(True, ["a", "b"])


# -- answers out ------------------------------------------------------------------------------


def test_usage_metadata_reports_cache_reads_only_when_the_server_does() -> None:
    assert usage_metadata(Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12)) == {
        "input_tokens": 10,
        "output_tokens": 2,
        "total_tokens": 12,
    }
    cached = usage_metadata(
        Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12, cached_tokens=8)
    )
    assert cached["input_token_details"] == {"cache_read": 8}


def test_ai_message_from_a_result() -> None:
    result = ChatResult(
        text="",
        tool_calls=[
            ToolCall(id="c1", name="f", arguments={"x": 1}, raw_arguments='{"x": 1}'),
            ToolCall(id="c2", name="g", arguments={}, raw_arguments="{x", error="not JSON"),
        ],
        usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7),
        finish_reason="tool_calls",
        model="@cf/qwen/qwen3-30b-a3b-fp8",
        cf_ray="ray-1",
        reasoning="thinking...",
    )
    message = ai_message(result)
    assert message.content == ""
    assert message.tool_calls == [{"name": "f", "args": {"x": 1}, "id": "c1", "type": "tool_call"}]
    assert message.invalid_tool_calls == [
        {"name": "g", "args": "{x", "id": "c2", "error": "not JSON", "type": "invalid_tool_call"}
    ]
    assert message.usage_metadata == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    assert message.response_metadata == {
        "model_name": "@cf/qwen/qwen3-30b-a3b-fp8",
        "finish_reason": "tool_calls",
        "cf_ray": "ray-1",
    }
    assert message.additional_kwargs == {"reasoning_content": "thinking..."}
    assert message.content_blocks[0] == {"type": "reasoning", "reasoning": "thinking..."}


def test_only_the_last_chunk_carries_metadata_and_usage() -> None:
    middle = message_chunk(ChatChunk(text="Hel"))
    assert middle.response_metadata == {}
    assert middle.usage_metadata is None
    assert middle.chunk_position is None
    last = message_chunk(
        ChatChunk(
            usage=Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3),
            finish_reason="stop",
            model="m",
            is_last=True,
        )
    )
    assert last.chunk_position == "last"
    assert last.response_metadata == {"model_name": "m", "finish_reason": "stop"}
    assert last.usage_metadata == {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    total = middle + last
    assert total.response_metadata["model_name"] == "m"


def test_stream_usage_off_drops_usage_from_the_last_chunk() -> None:
    chunk = ChatChunk(
        usage=Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3), model="m", is_last=True
    )
    assert message_chunk(chunk, include_usage=False).usage_metadata is None


def test_reasoning_deltas_concatenate() -> None:
    total = message_chunk(ChatChunk(reasoning="a")) + message_chunk(ChatChunk(reasoning="b"))
    assert isinstance(total, AIMessageChunk)
    assert total.additional_kwargs == {"reasoning_content": "ab"}


def test_tool_call_deltas_become_tool_call_chunks() -> None:
    first = message_chunk(
        ChatChunk(tool_calls=[ToolCallDelta(index=0, id="c1", name="f", arguments='{"x"')])
    )
    second = message_chunk(ChatChunk(tool_calls=[ToolCallDelta(index=0, arguments=": 1}")]))
    last = message_chunk(ChatChunk(model="m", finish_reason="tool_calls", is_last=True))
    total = first + second + last
    assert total.tool_calls == [{"name": "f", "args": {"x": 1}, "id": "c1", "type": "tool_call"}]
