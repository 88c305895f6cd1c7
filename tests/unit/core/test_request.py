"""Request bodies and the checks made before the network."""

from __future__ import annotations

from typing import Any

import pytest

from workers_ai._chat_options import ChatOptions, normalize_tool, normalize_tool_choice
from workers_ai._request import build_chat_body, check_run_payload, embedding_batches
from workers_ai.errors import InvalidRequestError

LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
USER: list[Any] = [{"role": "user", "content": "hi"}]
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def body(model: str = LEGACY, stream: bool = False, **options: Any) -> dict[str, Any]:
    opts: ChatOptions = options  # type: ignore[assignment]
    return build_chat_body(model, USER, None, stream=stream, options=opts)


def test_every_option_reaches_the_body() -> None:
    sent = body(
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        top_k=5,
        seed=7,
        repetition_penalty=1.1,
        frequency_penalty=0.5,
        presence_penalty=0.3,
        stop="END",
        raw=True,
        lora="my-lora",
        extra={"rejectIfBusy": True},
    )
    assert sent == {
        "messages": USER,
        "temperature": 0.2,
        "max_tokens": 50,
        "top_p": 0.9,
        "top_k": 5,
        "seed": 7,
        "repetition_penalty": 1.1,
        "frequency_penalty": 0.5,
        "presence_penalty": 0.3,
        "stop": ["END"],
        "raw": True,
        "lora": "my-lora",
        "rejectIfBusy": True,
    }


def test_none_options_are_not_sent_and_zero_is() -> None:
    assert body(temperature=None, max_tokens=None) == {"messages": USER}
    assert body(temperature=0)["temperature"] == 0


def test_prompt_form() -> None:
    assert build_chat_body(LEGACY, None, "Hello", stream=False, options={}) == {"prompt": "Hello"}


@pytest.mark.parametrize(
    ("messages", "prompt", "needle"),
    [
        (None, None, "Pass messages or a prompt"),
        (USER, "x", "not both"),
        (None, "   ", "prompt is empty"),
        ([], None, "messages is empty"),
        ([{"role": "wizard", "content": "x"}], None, "role 'wizard'"),
        (["hi"], None, "is not a dict"),
        ("hi", None, "must be a list"),
    ],
)
def test_bad_input_is_rejected_before_the_network(
    messages: Any, prompt: str | None, needle: str
) -> None:
    with pytest.raises(InvalidRequestError, match=needle):
        build_chat_body(LEGACY, messages, prompt, stream=False, options={})


def test_unknown_option_names_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="temprature"):
        body(temprature=1)


def test_null_content_becomes_empty_and_tool_call_arguments_become_text() -> None:
    messages: list[Any] = [
        {"role": "user", "content": "add"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "name": "add", "arguments": {"a": 1}}],
        },
        {"role": "tool", "content": "2", "tool_call_id": "c1"},
    ]
    sent = build_chat_body(LEGACY, messages, None, stream=False, options={})["messages"]
    assert sent[1]["content"] == ""
    assert sent[1]["tool_calls"] == [
        {"type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}, "id": "c1"}
    ]
    assert sent[2] == {"role": "tool", "content": "2", "tool_call_id": "c1"}


def test_flat_and_openai_tools_normalize_to_openai_form() -> None:
    flat = {"name": "f", "description": "d", "parameters": SCHEMA}
    openai = {"type": "function", "function": flat}
    assert normalize_tool(flat) == openai == normalize_tool(openai)
    assert normalize_tool({"name": "g"})["function"]["parameters"] == {
        "type": "object",
        "properties": {},
    }
    with pytest.raises(InvalidRequestError):
        normalize_tool({"description": "no name"})


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        ("magic", {"type": "function", "function": {"name": "magic"}}),
        (
            {"type": "function", "function": {"name": "x"}},
            {"type": "function", "function": {"name": "x"}},
        ),
    ],
)
def test_tool_choice(choice: Any, wire: Any) -> None:
    assert normalize_tool_choice(choice) == wire


def test_json_schema_is_bare_for_native_models_and_an_envelope_for_openai_ones() -> None:
    envelope = {"name": "thing", "schema": SCHEMA, "strict": True}
    native = body(response_format={"type": "json_schema", "json_schema": envelope})
    assert native["response_format"] == {"type": "json_schema", "json_schema": SCHEMA}
    bare_native = body(response_format={"type": "json_schema", "json_schema": SCHEMA})
    assert bare_native["response_format"] == {"type": "json_schema", "json_schema": SCHEMA}
    openai = body(OPENAI, response_format={"type": "json_schema", "json_schema": SCHEMA})
    assert openai["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": SCHEMA},
    }
    assert body(OPENAI, response_format={"type": "json_schema", "json_schema": envelope})[
        "response_format"
    ] == {"type": "json_schema", "json_schema": envelope}
    assert body(response_format={"type": "json_object"})["response_format"] == {
        "type": "json_object"
    }
    with pytest.raises(InvalidRequestError):
        body(response_format={"type": "xml"})


def test_stream_asks_openai_models_for_usage() -> None:
    assert body(stream=True) == {"messages": USER, "stream": True}
    assert body(OPENAI, stream=True)["stream_options"] == {"include_usage": True}


def test_embedding_batches_respect_each_models_limit() -> None:
    texts = [f"t{i}" for i in range(250)]
    assert [len(b) for b in embedding_batches("@cf/baai/bge-base-en-v1.5", texts)] == [100, 100, 50]
    assert [len(b) for b in embedding_batches("@cf/qwen/qwen3-embedding-0.6b", texts[:70])] == [
        32,
        32,
        6,
    ]
    assert embedding_batches("@cf/baai/bge-base-en-v1.5", "one") == [["one"]]
    with pytest.raises(InvalidRequestError, match="empty"):
        embedding_batches("@cf/baai/bge-base-en-v1.5", [])
    with pytest.raises(InvalidRequestError, match="not a string"):
        embedding_batches("@cf/baai/bge-base-en-v1.5", ["ok", 3])  # type: ignore[list-item]


def test_run_payload_checks() -> None:
    check_run_payload("@cf/baai/bge-base-en-v1.5", {"text": ["a"] * 100})
    with pytest.raises(InvalidRequestError, match="at most 32 texts"):
        check_run_payload("@cf/qwen/qwen3-embedding-0.6b", {"text": ["a"] * 33})
    with pytest.raises(InvalidRequestError, match="not both"):
        check_run_payload(LEGACY, {"prompt": "a", "messages": USER})
    with pytest.raises(InvalidRequestError, match="empty"):
        check_run_payload(LEGACY, {"prompt": " "})
