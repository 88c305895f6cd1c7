"""Streamed tool calls, from each wire form Workers AI uses, aggregate into proper tool_calls.

The core's stream parser turns SSE event data into ``ChatChunk``s; ``message_chunk`` turns those
into ``AIMessageChunk``s. Summing the chunks, as LangChain does, must give the same tool calls
an ``invoke`` would. Pure: no server, no sockets.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessageChunk

from langchain_workers_ai._convert import message_chunk
from workers_ai.streaming import StreamParser


def aggregate(
    events: list[Any], model: str = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
) -> AIMessageChunk:
    parser = StreamParser(model)
    chunks = []
    for event in [*events, "[DONE]"]:
        data = event if isinstance(event, str) else json.dumps(event)
        chunk = parser.feed(data)
        if chunk is not None:
            chunks.append(message_chunk(chunk))
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    return total


def openai_event(
    delta: dict[str, Any], usage: dict[str, int], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "@cf/qwen/qwen3-30b-a3b-fp8",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }


def test_legacy_whole_tool_calls() -> None:
    total = aggregate(
        [
            {
                "response": "",
                "tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}],
                "p": "x",
            },
            {"response": "", "tool_calls": [{"name": "noop", "arguments": {}}]},
            {
                "response": "",
                "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
            },
        ]
    )
    assert [(c["name"], c["args"]) for c in total.tool_calls] == [
        ("add", {"a": 1, "b": 2}),
        ("noop", {}),
    ]
    assert all(c["id"] for c in total.tool_calls)
    assert len({c["id"] for c in total.tool_calls}) == 2
    assert total.usage_metadata == {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}
    assert total.response_metadata["finish_reason"] == "tool_calls"


def test_native_incremental_tool_calls_with_the_finalisation_sentinel() -> None:
    total = aggregate(
        [
            {
                "tool_calls": [
                    {"id": "call_a", "type": "function", "index": 0, "function": {"name": "add"}}
                ]
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1'}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": ', "b": 2}'}}]},
            {
                "tool_calls": [
                    {"id": None, "type": None, "function": {"name": None, "arguments": ""}}
                ]
            },
            {
                "response": "",
                "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
            },
        ]
    )
    assert total.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "call_a", "type": "tool_call"}
    ]


def test_openai_delta_tool_calls_in_parallel_and_usage_reported_once() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}
    later = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
    total = aggregate(
        [
            openai_event(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "c0",
                            "type": "function",
                            "function": {"name": "add", "arguments": ""},
                        }
                    ]
                },
                usage,
            ),
            openai_event(
                {"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1, "b": 2}'}}]}, usage
            ),
            openai_event(
                {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "mul", "arguments": '{"x": '},
                        }
                    ]
                },
                usage,
            ),
            openai_event(
                {"tool_calls": [{"index": 1, "function": {"arguments": "3}"}}]}, later, "tool_calls"
            ),
            {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": later},
        ],
        model="@cf/qwen/qwen3-30b-a3b-fp8",
    )
    assert total.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "c0", "type": "tool_call"},
        {"name": "mul", "args": {"x": 3}, "id": "c1", "type": "tool_call"},
    ]
    # Cumulative usage on every OpenAI chunk is reported once, not summed.
    assert total.usage_metadata == {"input_tokens": 9, "output_tokens": 6, "total_tokens": 15}
    assert total.response_metadata["model_name"] == "@cf/qwen/qwen3-30b-a3b-fp8"


def test_streamed_arguments_that_are_not_json_become_invalid_tool_calls() -> None:
    # langchain-core parses aggregated chunks with parse_partial_json, which completes a
    # truncated object; text that is no JSON at all must end up in invalid_tool_calls.
    total = aggregate(
        [
            openai_event(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "c0",
                            "type": "function",
                            "function": {"name": "add", "arguments": "add 1 and 2"},
                        }
                    ]
                },
                {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            ),
        ],
        model="@cf/qwen/qwen3-30b-a3b-fp8",
    )
    assert total.tool_calls == []
    assert [(c["name"], c["args"], c["id"]) for c in total.invalid_tool_calls] == [
        ("add", "add 1 and 2", "c0")
    ]


def test_text_and_tool_call_in_one_stream() -> None:
    total = aggregate(
        [
            {"response": "Let me "},
            {"response": "add."},
            {"response": "", "tool_calls": [{"name": "add", "arguments": '{"a": 2}'}]},
        ]
    )
    assert total.content == "Let me add."
    assert total.tool_calls[0]["args"] == {"a": 2}
