"""Request options, model capabilities and JSON-mode parsing: pure functions."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.program.utils import FlexibleModel
from pydantic import BaseModel

from llama_index.llms.workers_ai._metadata import (
    Capabilities,
    catalog_capabilities,
    lookup_capabilities,
)
from llama_index.llms.workers_ai._options import chat_options, tool_options
from llama_index.llms.workers_ai._structured import parse_object, parse_partial_object
from workers_ai import InvalidRequestError, ModelInfo, ServerError, json_response_format

OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
LEGACY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
TOOL = {"type": "function", "function": {"name": "f", "parameters": {}}}


def test_unset_defaults_are_dropped_and_calls_override() -> None:
    options = chat_options(
        {"temperature": 0.2, "max_tokens": None, "seed": 3},
        {"lora": "x"},
        {"temperature": 0.9, "extra": {"raw": True}, "tools": [TOOL]},
    )
    assert options == {
        "temperature": 0.9,
        "seed": 3,
        "tools": [TOOL],
        "extra": {"lora": "x", "raw": True},
    }


def test_no_extra_when_nothing_extra() -> None:
    assert chat_options({}, {}, {}) == {}


def test_no_tools_no_tool_options() -> None:
    assert (
        tool_options(
            LEGACY, [], tool_choice=None, tool_required=True, allow_parallel_tool_calls=False
        )
        == {}
    )


NAMED_F = {"type": "function", "function": {"name": "f"}}


@pytest.mark.parametrize(
    ("choice", "required", "sent"),
    [
        (None, False, "auto"),
        (None, True, "required"),
        ("f", True, NAMED_F),
        ("none", True, "none"),
        ({"name": "f"}, False, NAMED_F),
        (NAMED_F, False, NAMED_F),
    ],
)
def test_tool_choice(choice: Any, required: bool, sent: Any) -> None:
    options = tool_options(
        LEGACY, [TOOL], tool_choice=choice, tool_required=required, allow_parallel_tool_calls=False
    )
    assert options == {"tools": [TOOL], "tool_choice": sent}


def test_tool_choice_must_name_a_tool_sent() -> None:
    with pytest.raises(InvalidRequestError, match="'g'"):
        tool_options(
            LEGACY, [TOOL], tool_choice="g", tool_required=False, allow_parallel_tool_calls=False
        )


def test_parallel_tool_calls_only_for_openai_style_models() -> None:
    options = tool_options(
        OPENAI, [TOOL], tool_choice=None, tool_required=False, allow_parallel_tool_calls=False
    )
    assert options["extra"] == {"parallel_tool_calls": False}


class Page(BaseModel):
    title: str
    number: int


def test_json_mode_asks_for_the_output_class_schema() -> None:
    """What JSON-mode structured output sends: the core's one builder (names cleaned there)."""
    Generic = type("Page[int]", (Page,), {})
    assert json_response_format(Page) == {
        "type": "json_schema",
        "json_schema": {"name": "Page", "schema": Page.model_json_schema()},
    }
    assert json_response_format(Generic)["json_schema"]["name"] == "Page_int_"


def test_parse_object() -> None:
    assert parse_object(Page, '{"title": "a", "number": 1}') == Page(title="a", number=1)
    with pytest.raises(ValueError, match="not a valid Page"):
        parse_object(Page, '{"title": "a"}')


def test_parse_partial_object_grows_into_the_class() -> None:
    assert parse_partial_object(Page, "") is None
    assert parse_partial_object(Page, "[1, 2") is None
    partial = parse_partial_object(Page, '{"title": "ab", "num')
    assert isinstance(partial, FlexibleModel)
    assert partial.model_dump() == {"title": "ab", "number": None}
    assert parse_partial_object(Page, '{"title": "ab", "nu') == partial  # one flexible class
    assert parse_partial_object(Page, '{"title": "ab", "number": 2}') == Page(title="ab", number=2)


# -- capabilities ----------------------------------------------------------------------------------


def no_catalog(model: str) -> list[ModelInfo]:
    raise AssertionError("a known model must not need the catalog")


def test_known_models_come_from_the_packaged_catalog() -> None:
    assert lookup_capabilities(LEGACY, no_catalog) == Capabilities(24000, True)
    fp8 = "@cf/meta/llama-3.1-8b-instruct-fp8"
    assert lookup_capabilities(fp8, no_catalog) == Capabilities(32000, False)


def test_other_models_come_from_the_catalog() -> None:
    found = [
        ModelInfo(name="@cf/x/other", context_window=1000),
        ModelInfo(name="@cf/x/new", context_window=32000, function_calling=True),
    ]
    assert lookup_capabilities("@cf/x/new", lambda model: found) == Capabilities(32000, True)
    assert catalog_capabilities("@cf/x/missing", found) is None


def test_catalog_misses_and_failures_mean_nothing_known(caplog: pytest.LogCaptureFixture) -> None:
    assert lookup_capabilities("@cf/x/missing", lambda model: []) == Capabilities()

    def failing(model: str) -> list[ModelInfo]:
        raise ServerError("down", status=500)

    assert lookup_capabilities("@cf/x/new", failing) == Capabilities()
    assert "context_window=" in caplog.text
