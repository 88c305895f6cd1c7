"""Structured output: what JSON mode sends per model family, and the program modes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from llama_index.core.types import PydanticProgramMode

from llama_index.llms.workers_ai import WorkersAI
from tests.local.llama_index.conftest import FAMILY_MODELS, local_llm
from tests.standard.llama_index.conformance import FACT_PROMPT, CityFact

if TYPE_CHECKING:
    from workers_ai.local import LocalServer


def test_json_mode_sends_the_output_schema(server: LocalServer) -> None:
    for family in ("legacy", "openai"):
        local_llm(server, model=FAMILY_MODELS[family]).structured_predict(
            CityFact, FACT_PROMPT, year="1624"
        )
    legacy, openai = (r["body"] for r in server.requests())
    schema = CityFact.model_json_schema()
    # Native models take a bare JSON Schema; OpenAI-style ones OpenAI's envelope.
    assert legacy["response_format"] == {"type": "json_schema", "json_schema": schema}
    assert openai["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "CityFact", "schema": schema},
    }
    assert "tools" not in legacy and "tools" not in openai


def test_stream_structured_predict_streams_partial_objects(
    make_llm: Callable[..., WorkersAI],
) -> None:
    partials = list(make_llm().stream_structured_predict(CityFact, FACT_PROMPT, year="1624"))
    assert len(partials) > 1  # the echo backend streams the JSON word by word
    assert partials[-1] == CityFact(city=partials[-1].city, year=1624)
    assert all(a != b for a, b in itertools.pairwise(partials))


def test_function_mode_uses_a_forced_tool(server: LocalServer) -> None:
    llm = local_llm(server, pydantic_program_mode=PydanticProgramMode.FUNCTION)
    fact = llm.structured_predict(CityFact, FACT_PROMPT, year="1624")
    assert fact.year == 1624
    (body,) = (r["body"] for r in server.requests())
    assert body["tool_choice"] == "required"
    assert body["tools"][0]["function"]["name"] == "CityFact"
    assert "response_format" not in body
