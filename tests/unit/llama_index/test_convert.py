"""LlamaIndex <-> core conversions: pure functions, no I/O."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from llama_index.core.base.llms.types import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    ChatResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from llama_index.llms.workers_ai._convert import (
    StreamAccumulator,
    chat_response,
    completion_response,
    first_tool_call_only,
    to_core_message,
    to_core_messages,
    tool_selections,
)
from workers_ai import ChatChunk, ChatResult, ToolCall, ToolCallDelta, Usage

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


# -- messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "wire"),
    [
        (MessageRole.SYSTEM, "system"),
        (MessageRole.DEVELOPER, "system"),
        (MessageRole.USER, "user"),
        (MessageRole.ASSISTANT, "assistant"),
        (MessageRole.TOOL, "tool"),
        (MessageRole.FUNCTION, "tool"),
        (MessageRole.CHATBOT, "assistant"),
        (MessageRole.MODEL, "assistant"),
    ],
)
def test_roles_map_to_the_four_wire_roles(role: MessageRole, wire: str) -> None:
    assert to_core_message(ChatMessage(role=role, content="x")) == {"role": wire, "content": "x"}


def test_text_blocks_join_into_plain_content() -> None:
    message = ChatMessage(role="user", blocks=[TextBlock(text="a"), TextBlock(text="b")])
    assert to_core_message(message)["content"] == "a\nb"


def test_empty_message_has_empty_content() -> None:
    assert to_core_message(ChatMessage(role="assistant"))["content"] == ""


def test_images_become_image_url_parts() -> None:
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What is this?"),
            ImageBlock(image=PNG, image_mimetype="image/png"),
            ImageBlock(url="https://example.com/cat.png"),
        ],
    )
    content = to_core_message(message)["content"]
    assert isinstance(content, list)
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert content[2] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


def test_reasoning_rides_along_and_cache_points_are_not_sent() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="hmm"),
            CachePoint(cache_control=CacheControl(type="ephemeral")),
            TextBlock(text="answer"),
        ],
    )
    # The core sends the reasoning back only where the model reads it (tool-call turns).
    assert to_core_message(message) == {
        "role": "assistant",
        "content": "answer",
        "reasoning": "hmm",
    }


def test_unsupported_blocks_are_rejected() -> None:
    message = ChatMessage(role="user", blocks=[AudioBlock(audio=b"RIFF", format="wav")])
    with pytest.raises(ValueError, match="'audio'"):
        to_core_messages([message])


def test_tool_call_blocks_become_wire_tool_calls() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[
            ToolCallBlock(tool_call_id="c1", tool_name="add", tool_kwargs={"a": 1}),
            ToolCallBlock(tool_call_id="c2", tool_name="neg", tool_kwargs='{"x": 2}'),
            ToolCallBlock(tool_name="noop", tool_kwargs=""),
        ],
        additional_kwargs={"tool_calls": [{"ignored": True}]},  # blocks win over the legacy list
    )
    wire = to_core_message(message)
    assert wire["content"] == ""
    assert wire["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}},
        {"id": "c2", "type": "function", "function": {"name": "neg", "arguments": '{"x": 2}'}},
        {"id": "noop", "type": "function", "function": {"name": "noop", "arguments": "{}"}},
    ]


def test_legacy_tool_calls_pass_through() -> None:
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    message = ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": calls})
    assert to_core_message(message)["tool_calls"] == calls


def test_tool_results_carry_their_call_id_and_name() -> None:
    message = ChatMessage(
        role="tool", content="5", additional_kwargs={"tool_call_id": "c1", "name": "magic"}
    )
    assert to_core_message(message) == {
        "role": "tool",
        "content": "5",
        "tool_call_id": "c1",
        "name": "magic",
    }


# -- whole answers ---------------------------------------------------------------------------------


def result(**fields: Any) -> ChatResult:
    return ChatResult(**{"text": "", "model": "@cf/m", **fields})


def test_text_answer_with_usage() -> None:
    usage = Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    response = chat_response(
        result(text="hi", usage=usage, finish_reason="stop", cf_ray="r", raw={"response": "hi"})
    )
    assert response.message.role == MessageRole.ASSISTANT
    assert response.message.content == "hi"
    assert response.raw == {
        "response": "hi",
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    assert response.additional_kwargs == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
        "finish_reason": "stop",
        "model": "@cf/m",
        "cf_ray": "r",
    }


def test_openai_usage_is_normalized_at_the_top_of_raw() -> None:
    wire_usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "extra": 9}
    usage = Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3, cached_tokens=0)
    response = chat_response(result(text="x", usage=usage, raw={"usage": wire_usage}))
    assert response.raw["usage"] == {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
        "cached_tokens": 0,
    }


def test_no_usage_leaves_raw_without_it() -> None:
    response = chat_response(result(text="x", raw={"response": "x"}))
    assert "usage" not in response.raw
    assert "prompt_tokens" not in response.additional_kwargs


def test_tool_calls_become_blocks_and_legacy_kwargs() -> None:
    calls = [
        ToolCall(id="c1", name="add", arguments={"a": 1}, raw_arguments='{"a": 1}'),
        ToolCall(id="c2", name="bad", arguments={}, raw_arguments="[1]", error="not an object"),
    ]
    message = chat_response(result(tool_calls=calls)).message
    assert [b for b in message.blocks if isinstance(b, TextBlock)] == []
    assert [b for b in message.blocks if isinstance(b, ToolCallBlock)] == [
        ToolCallBlock(tool_call_id="c1", tool_name="add", tool_kwargs={"a": 1}),
        ToolCallBlock(tool_call_id="c2", tool_name="bad", tool_kwargs="[1]"),
    ]
    assert message.additional_kwargs["tool_calls"][1] == {
        "id": "c2",
        "type": "function",
        "function": {"name": "bad", "arguments": "[1]"},
    }


def test_reasoning_becomes_a_thinking_block() -> None:
    message = chat_response(result(text="42", reasoning="think")).message
    assert isinstance(message.blocks[0], ThinkingBlock)
    assert message.blocks[0].content == "think"
    assert message.content == "42"


def test_answer_round_trips_as_history() -> None:
    calls = [ToolCall(id="c1", name="add", arguments={"a": 1}, raw_arguments='{"a": 1}')]
    message = chat_response(result(text="", tool_calls=calls)).message
    assert to_core_message(message)["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
    ]


def test_completion_keeps_text_raw_and_usage() -> None:
    usage = Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
    chat = chat_response(result(text="t", usage=usage))
    completion = completion_response(chat)
    assert (completion.text, completion.raw) == ("t", chat.raw)
    assert completion.additional_kwargs["total_tokens"] == 2


# -- streams ---------------------------------------------------------------------------------------


def test_stream_accumulates_text_and_reports_usage_on_the_last_chunk() -> None:
    usage = Usage(prompt_tokens=2, completion_tokens=2, total_tokens=4)
    answer = StreamAccumulator()
    first = answer.feed(ChatChunk(text="Hel"))
    second = answer.feed(ChatChunk(text="lo", reasoning="r"))
    last = answer.feed(ChatChunk(usage=usage, finish_reason="stop", model="m", is_last=True))
    assert [r.delta for r in (first, second, last)] == ["Hel", "lo", ""]
    assert last.message.content == "Hello"
    assert "usage" not in first.raw and "usage" not in second.raw
    assert last.raw["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
    assert last.additional_kwargs["completion_tokens"] == 2
    assert second.additional_kwargs["thinking_delta"] == "r"
    assert isinstance(last.message.blocks[0], ThinkingBlock)


def test_stream_assembles_tool_calls_across_chunks() -> None:
    answer = StreamAccumulator()
    partial = answer.feed(
        ChatChunk(tool_calls=[ToolCallDelta(index=0, id="c1", name="add", arguments='{"a"')])
    )
    answer.feed(ChatChunk(tool_calls=[ToolCallDelta(index=0, arguments=": 1}")]))
    answer.feed(ChatChunk(tool_calls=[ToolCallDelta(index=1, id="c2", name="neg", arguments="{}")]))
    last = answer.feed(ChatChunk(finish_reason="tool_calls", is_last=True))
    (block,) = [b for b in partial.message.blocks if isinstance(b, ToolCallBlock)]
    assert block.tool_kwargs == '{"a"'  # not yet JSON: kept as text
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in tool_selections(partial.message)] == [
        ("c1", "add", {})  # an unfinished key is dropped, not guessed
    ]
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in tool_selections(last.message)] == [
        ("c1", "add", {"a": 1}),
        ("c2", "neg", {}),
    ]
    assert last.message.additional_kwargs["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'


@given(
    kwargs=st.dictionaries(
        st.text(min_size=1, max_size=8), st.integers() | st.text(max_size=10), max_size=4
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6),
)
def test_any_split_of_streamed_arguments_reassembles(
    kwargs: dict[str, Any], cuts: list[int]
) -> None:
    text = json.dumps(kwargs)
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    pieces = [text[a:b] for a, b in itertools.pairwise(points)] or [""]
    answer = StreamAccumulator()
    for i, piece in enumerate(pieces):
        delta = ToolCallDelta(
            index=0, id="c" if i == 0 else None, name="f" if i == 0 else None, arguments=piece
        )
        response = answer.feed(ChatChunk(tool_calls=[delta]))
    (selection,) = tool_selections(response.message)
    assert selection.tool_kwargs == kwargs


# -- tool selections -------------------------------------------------------------------------------


def test_selections_from_legacy_additional_kwargs() -> None:
    calls = [
        {"id": "c1", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"name": "g", "arguments": {"y": 2}},  # the flat form
        {"function": {"arguments": "{}"}},  # no name: skipped
    ]
    message = ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": calls})
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in tool_selections(message)] == [
        ("c1", "f", {"x": 1}),
        ("g", "g", {"y": 2}),
    ]


def test_malformed_arguments_read_as_empty() -> None:
    message = ChatMessage(
        role="assistant", blocks=[ToolCallBlock(tool_call_id="c", tool_name="f", tool_kwargs="}{")]
    )
    assert tool_selections(message)[0].tool_kwargs == {}


def test_first_tool_call_only() -> None:
    calls = [ToolCall(id=f"c{i}", name=f"f{i}", arguments={}, raw_arguments="{}") for i in range(3)]
    response = chat_response(result(text="", tool_calls=calls))
    trimmed = first_tool_call_only(response)
    assert [s.tool_name for s in tool_selections(trimmed.message)] == ["f0"]
    assert len(trimmed.message.additional_kwargs["tool_calls"]) == 1
    assert len(tool_selections(response.message)) == 3  # the original is untouched
    single = chat_response(result(text="x"))
    assert first_tool_call_only(single) is single


def test_chat_response_type() -> None:
    assert isinstance(chat_response(result(text="x")), ChatResponse)
