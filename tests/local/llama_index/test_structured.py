"""Structured output: what JSON mode sends per model family, and the program modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llama_index.core.types import PydanticProgramMode

from llama_index.llms.workers_ai import WorkersAI
from tests.local.llama_index.conftest import FAMILY_MODELS, local_llm
from tests.standard.llama_index.conformance import FACT_PROMPT, CityFact
from workers_ai import json_response_format

if TYPE_CHECKING:
    from workers_ai_local import LocalServer


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


def _posts(server: LocalServer) -> list[dict[str, Any]]:
    return [r["body"] for r in server.requests() if r["method"] == "POST"]


def test_stream_structured_predict_yields_the_whole_object_at_once(
    server: LocalServer, make_llm: Callable[..., WorkersAI]
) -> None:
    """Workers AI's JSON mode does not stream: the request goes without stream=true and the
    one answer is the whole object (the echo backend would otherwise stream it word by word)."""
    partials = list(make_llm().stream_structured_predict(CityFact, FACT_PROMPT, year="1624"))
    assert partials == [CityFact(city=partials[-1].city, year=1624)]
    (body,) = _posts(server)
    assert "stream" not in body and "stream_options" not in body


async def test_astream_structured_predict_yields_the_whole_object_at_once(
    server: LocalServer, make_llm: Callable[..., WorkersAI]
) -> None:
    stream = await make_llm().astream_structured_predict(CityFact, FACT_PROMPT, year="1624")
    partials = [partial async for partial in stream]
    assert partials == [CityFact(city=partials[-1].city, year=1624)]
    (body,) = _posts(server)
    assert "stream" not in body and "stream_options" not in body


def test_stream_chat_in_json_mode_sends_no_stream_and_yields_the_whole_json(
    server: LocalServer, make_llm: Callable[..., WorkersAI]
) -> None:
    llm = make_llm()
    messages = FACT_PROMPT.format_messages(year="1624")
    fmt = json_response_format(CityFact)
    whole = llm.chat(messages, response_format=fmt).message.content
    server.reset()
    responses = list(llm.stream_chat(messages, response_format=fmt))
    assert len(responses) == 1
    assert responses[0].message.content == responses[0].delta == whole
    assert CityFact.model_validate_json(whole or "").year == 1624
    (body,) = _posts(server)
    assert "stream" not in body and "stream_options" not in body
    assert "response_format" in body or "text" in body  # the Responses API's text.format


async def test_astream_chat_in_json_mode_sends_no_stream_and_yields_the_whole_json(
    server: LocalServer, make_llm: Callable[..., WorkersAI]
) -> None:
    llm = make_llm()
    messages = FACT_PROMPT.format_messages(year="1624")
    fmt = json_response_format(CityFact)
    stream = await llm.astream_chat(messages, response_format=fmt)
    responses = [response async for response in stream]
    assert len(responses) == 1
    assert CityFact.model_validate_json(responses[0].message.content or "").year == 1624
    (body,) = _posts(server)
    assert "stream" not in body and "stream_options" not in body


def test_streams_without_json_mode_still_stream(
    server: LocalServer, make_llm: Callable[..., WorkersAI]
) -> None:
    responses = list(make_llm().stream_chat(FACT_PROMPT.format_messages(year="1624")))
    assert len(responses) > 1  # the echo backend streams word by word
    (body,) = _posts(server)
    assert body["stream"] is True


def test_function_mode_uses_a_forced_tool(server: LocalServer) -> None:
    llm = local_llm(server, pydantic_program_mode=PydanticProgramMode.FUNCTION)
    fact = llm.structured_predict(CityFact, FACT_PROMPT, year="1624")
    assert fact.year == 1624
    (body,) = (r["body"] for r in server.requests())
    assert body["tool_choice"] == "required"
    assert body["tools"][0]["function"]["name"] == "CityFact"
    assert "response_format" not in body
