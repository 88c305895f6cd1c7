"""The wire rules every adapter shares, held once in the core: the JSON-mode response_format
(schema names included), tool_choice mapping, and JSON mode never streaming."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from workers_ai import ChatOptions, InvalidRequestError, json_response_format
from workers_ai._chat_options import schema_name, split_json_schema
from workers_ai._request import build_chat_body
from workers_ai.adapters import normalize_tool_choice, sends_stream

LEGACY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
RESPONSES = "@cf/openai/gpt-oss-120b"
USER: list[Any] = [{"role": "user", "content": "hi"}]
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


class Page(BaseModel):
    title: str
    number: int


def body(model: str, *, stream: bool = False, **options: Any) -> dict[str, Any]:
    opts: ChatOptions = options  # type: ignore[assignment]
    return build_chat_body(model, USER, None, stream=stream, options=opts)


# -- schema names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("Page", "Page"),
        ("my-schema_2", "my-schema_2"),
        ("Page[int]", "Page_int_"),
        ("City fact", "City_fact"),
        ("Größe", "Gr__e"),
        ("x" * 80, "x" * 64),
        ("", "response"),
        (None, "response"),
    ],
)
def test_schema_names_are_ones_the_wire_takes(name: Any, wire: str) -> None:
    assert schema_name(name) == wire


def test_split_json_schema_cleans_names_of_both_forms() -> None:
    titled = {**SCHEMA, "title": "Page[int]"}
    assert split_json_schema(titled) == ("Page_int_", titled, None)
    assert split_json_schema({"name": "a b", "schema": SCHEMA, "strict": True}) == (
        "a_b",
        SCHEMA,
        True,
    )


# -- json_response_format -------------------------------------------------------------------


def test_no_schema_asks_for_any_json_object() -> None:
    assert json_response_format() == {"type": "json_object"}
    assert json_response_format({"type": "json_object"}) == {"type": "json_object"}


def test_a_pydantic_class_gives_its_schema_under_its_name() -> None:
    assert json_response_format(Page) == {
        "type": "json_schema",
        "json_schema": {"name": "Page", "schema": Page.model_json_schema()},
    }
    generic = type("Page[int]", (Page,), {})
    assert json_response_format(generic)["json_schema"]["name"] == "Page_int_"


def test_a_bare_schema_is_named_by_its_title_else_response() -> None:
    titled = {**SCHEMA, "title": "Thing"}
    assert json_response_format(titled)["json_schema"] == {"name": "Thing", "schema": titled}
    assert json_response_format(SCHEMA)["json_schema"] == {"name": "response", "schema": SCHEMA}


def test_name_and_strict_arguments_win_and_are_cleaned() -> None:
    envelope = {"name": "inner", "schema": SCHEMA, "strict": False}
    assert json_response_format(envelope)["json_schema"] == envelope
    fmt = json_response_format(envelope, name="my name", strict=True)
    assert fmt["json_schema"] == {"name": "my_name", "schema": SCHEMA, "strict": True}


def test_an_existing_response_format_is_taken_as_it_is() -> None:
    fmt = json_response_format(Page)
    assert json_response_format(fmt) == fmt
    with pytest.raises(InvalidRequestError):
        json_response_format({"type": "json_schema"})


@pytest.mark.parametrize("bad", [int, "Page", ["a"]])
def test_anything_else_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidRequestError):
        json_response_format(bad)


def test_each_family_gets_the_format_in_its_own_form() -> None:
    """One builder; the request sends what the model takes, with the name rules applied."""
    fmt = json_response_format({**SCHEMA, "title": "Page[int]"}, strict=True)
    bare = {**SCHEMA, "title": "Page[int]"}
    assert body(LEGACY, response_format=fmt)["response_format"] == {
        "type": "json_schema",
        "json_schema": bare,
    }
    assert body(OPENAI, response_format=fmt)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Page_int_", "schema": bare, "strict": True},
    }
    assert body(RESPONSES, response_format=fmt)["text"] == {
        "format": {"type": "json_schema", "name": "Page_int_", "schema": bare, "strict": True}
    }


def test_a_hand_written_format_gets_the_same_name_rules() -> None:
    raw = {"type": "json_schema", "json_schema": {"name": "City fact", "schema": SCHEMA}}
    assert body(OPENAI, response_format=raw)["response_format"]["json_schema"]["name"] == (
        "City_fact"
    )


# -- tool_choice ----------------------------------------------------------------------------

MULTIPLY = {"type": "function", "function": {"name": "multiply"}}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        ("multiply", MULTIPLY),
        (True, MULTIPLY),
        (False, "none"),
        (MULTIPLY, MULTIPLY),
        ({"name": "multiply"}, MULTIPLY),
        ({"type": "function", "name": "multiply"}, MULTIPLY),
        ({"type": "tool", "name": "multiply"}, MULTIPLY),
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        (None, "auto"),
    ],
)
def test_tool_choice_forms_of_every_framework(choice: Any, wire: Any) -> None:
    assert normalize_tool_choice(choice, ["multiply"]) == wire


def test_tool_required_is_the_default_only() -> None:
    assert normalize_tool_choice(None, required=True) == "required"
    assert normalize_tool_choice("none", required=True) == "none"
    assert normalize_tool_choice("multiply", required=True) == MULTIPLY


def test_a_named_tool_must_be_one_sent() -> None:
    with pytest.raises(InvalidRequestError, match="divide"):
        normalize_tool_choice("divide", ["multiply"])
    with pytest.raises(InvalidRequestError, match="divide"):
        normalize_tool_choice({"type": "function", "function": {"name": "divide"}}, ["multiply"])
    assert normalize_tool_choice("divide") == {"type": "function", "function": {"name": "divide"}}


@pytest.mark.parametrize("bad", [{"type": "function"}, {"name": ""}, 3])
def test_a_tool_choice_naming_nothing_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidRequestError):
        normalize_tool_choice(bad)


def test_true_needs_exactly_one_tool() -> None:
    with pytest.raises(InvalidRequestError, match="exactly one"):
        normalize_tool_choice(True, ["a", "b"])
    with pytest.raises(InvalidRequestError, match="exactly one"):
        normalize_tool_choice(True)


def test_the_body_maps_tool_choice_the_same_way() -> None:
    tools = [{"name": "multiply", "parameters": {"type": "object", "properties": {}}}]
    assert body(LEGACY, tools=tools, tool_choice="any")["tool_choice"] == "required"
    assert body(LEGACY, tools=tools, tool_choice="multiply")["tool_choice"] == MULTIPLY
    assert body(RESPONSES, tools=tools, tool_choice="multiply")["tool_choice"] == {
        "type": "function",
        "name": "multiply",
    }


# -- JSON mode does not stream --------------------------------------------------------------


@pytest.mark.parametrize("model", [LEGACY, SCOUT, OPENAI, RESPONSES])
@pytest.mark.parametrize("fmt", [json_response_format(Page), json_response_format()])
def test_a_stream_in_json_mode_is_sent_without_stream(model: str, fmt: dict[str, Any]) -> None:
    sent = body(model, stream=True, response_format=fmt)
    assert "stream" not in sent
    assert "stream_options" not in sent
    assert sends_stream(True, {"response_format": fmt}) is False


@pytest.mark.parametrize("model", [LEGACY, OPENAI, RESPONSES])
def test_other_streams_stream(model: str) -> None:
    assert body(model, stream=True)["stream"] is True
    assert body(model, stream=True, response_format={"type": "text"})["stream"] is True
    assert sends_stream(True, {}) is True
    assert sends_stream(False, {}) is False


def test_stream_options_go_only_with_a_stream() -> None:
    """LangChain's stream_usage=False sends stream_options; a request that does not stream
    (a plain call, or a stream in JSON mode) leaves it out, as OpenAI-style APIs want."""
    off = {"stream_options": {"include_usage": False}}
    assert body(OPENAI, stream=True, extra=off)["stream_options"] == {"include_usage": False}
    assert "stream_options" not in body(OPENAI, extra=off)
    fmt = json_response_format(Page)
    assert "stream_options" not in body(OPENAI, stream=True, response_format=fmt, extra=off)
