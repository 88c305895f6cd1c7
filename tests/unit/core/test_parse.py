"""The three text-generation result shapes, tool calls, usage, embeddings and the catalog."""

from __future__ import annotations

import json

import pytest

from workers_ai._parse import (
    parse_chat_result,
    parse_embeddings,
    parse_model_info,
    parse_tool_call,
    parse_usage,
    unwrap_envelope,
)
from workers_ai.errors import UnexpectedResponseError

MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


def test_legacy_result_with_object_arguments() -> None:
    result = parse_chat_result(
        {
            "response": "",
            "tool_calls": [{"name": "getWeather", "arguments": {"latitude": "51.5"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14},
        },
        model=MODEL,
        cf_ray="abc",
    )
    assert result.text == ""
    [call] = result.tool_calls
    assert call.name == "getWeather"
    assert call.arguments == {"latitude": "51.5"}
    assert json.loads(call.raw_arguments) == {"latitude": "51.5"}
    assert call.id.startswith("call_")  # legacy models send no id; frameworks need one
    assert result.usage is not None and result.usage.total_tokens == 14
    assert result.finish_reason == "tool_calls"
    assert result.model == MODEL and result.cf_ray == "abc"


def test_legacy_json_mode_response_is_an_object() -> None:
    result = parse_chat_result({"response": {"name": "India", "capital": "Delhi"}}, model=MODEL)
    assert json.loads(result.text) == {"name": "India", "capital": "Delhi"}
    assert result.parsed == {"name": "India", "capital": "Delhi"}


def test_json_mode_text_is_parsed_when_asked() -> None:
    result = parse_chat_result({"response": '{"a": 1}'}, model=MODEL, json_mode=True)
    assert result.parsed == {"a": 1}
    assert parse_chat_result({"response": '{"a": 1}'}, model=MODEL).parsed is None


def test_scout_result_nested_calls_with_object_arguments() -> None:
    result = parse_chat_result(
        {
            "response": None,
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "add", "arguments": {"a": 1}}}
            ],
        },
        model="@cf/meta/llama-4-scout-17b-16e-instruct",
    )
    assert result.text == ""
    assert result.tool_calls[0].id == "t1"
    assert result.tool_calls[0].arguments == {"a": 1}


def test_openai_result_with_string_arguments_and_cached_tokens() -> None:
    raw = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "@cf/qwen/qwen3-30b-a3b-fp8",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "hi",
                    "reasoning_content": "thinking",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "x", "arguments": '{"a":1}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 13,
            "completion_tokens": 5,
            "total_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 8},
        },
    }
    result = parse_chat_result(raw, model="requested")
    assert result.text == "hi"
    assert result.reasoning == "thinking"
    assert result.tool_calls[0].arguments == {"a": 1}
    assert result.tool_calls[0].raw_arguments == '{"a":1}'
    assert result.finish_reason == "tool_calls"
    assert result.usage is not None and result.usage.cached_tokens == 8
    assert result.model == "@cf/qwen/qwen3-30b-a3b-fp8"
    assert result.raw == raw


def test_openai_text_completion_variant() -> None:
    result = parse_chat_result(
        {"choices": [{"text": "done", "finish_reason": "length"}]}, model="m"
    )
    assert (result.text, result.finish_reason) == ("done", "length")


def test_invalid_tool_arguments_are_kept_with_an_error() -> None:
    call = parse_tool_call({"function": {"name": "f", "arguments": '{"a": '}})
    assert call.arguments == {}
    assert call.raw_arguments == '{"a": '
    assert call.error is not None and "not valid JSON" in call.error
    scalar = parse_tool_call({"name": "f", "arguments": "3"})
    assert scalar.error is not None and "not a JSON object" in scalar.error


def test_tool_call_without_arguments_is_an_empty_object() -> None:
    call = parse_tool_call({"name": "ping"})
    assert call.arguments == {} and call.raw_arguments == "{}" and call.error is None


@pytest.mark.parametrize(
    "bad",
    [None, "text", [], {"tool_calls": "nope", "response": ""}, {"tool_calls": [{"x": 1}]}],
)
def test_unknown_shapes_raise_our_error(bad: object) -> None:
    with pytest.raises(UnexpectedResponseError):
        parse_chat_result(bad, model=MODEL)


def test_usage_tolerates_strings_and_missing_total() -> None:
    usage = parse_usage({"prompt_tokens": "3", "completion_tokens": 2})
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 2, 5)
    assert parse_usage(None) is None


def test_envelope_unwrap_leaves_openai_bodies_alone() -> None:
    assert unwrap_envelope({"result": {"a": 1}, "success": True, "errors": []}) == {"a": 1}
    assert unwrap_envelope({"choices": []}) == {"choices": []}


def test_embeddings_native_and_openai_forms() -> None:
    assert parse_embeddings({"shape": [2, 2], "data": [[1, 2], [3, 4.5]]}) == [
        [1.0, 2.0],
        [3.0, 4.5],
    ]
    vectors = parse_embeddings(
        {"data": [{"embedding": [2], "index": 1}, {"embedding": [1], "index": 0}]}
    )
    assert vectors == [[1.0], [2.0]]
    assert all(isinstance(x, float) for v in vectors for x in v)
    with pytest.raises(UnexpectedResponseError):
        parse_embeddings({"data": [["a"]]})


def test_model_info_reads_string_properties() -> None:
    info = parse_model_info(
        {
            "id": "429b",
            "name": "@cf/baai/bge-base-en-v1.5",
            "description": "BAAI",
            "task": {"id": "0137", "name": "Text Embeddings"},
            "properties": [
                {"property_id": "max_input_tokens", "value": "512"},
                {"property_id": "output_dimensions", "value": "768"},
                {"property_id": "function_calling", "value": "false"},
                {"property_id": "price", "value": [{"unit": "per M", "price": 0.1}]},
            ],
        }
    )
    assert info.task == "Text Embeddings"
    assert info.max_input_tokens == 512 and info.output_dimensions == 768
    assert info.function_calling is False
    assert info.properties["price"] == [{"unit": "per M", "price": 0.1}]
