"""The Responses-API family (gpt-oss) and reasoning, without sockets: request bodies, whole
results recognised by their shape, the Responses stream events, reasoning options and the
lifecycle errors built from Cloudflare's answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers_ai import (
    InvalidRequestError,
    ModelDeprecatedError,
    NotFoundError,
    PaidPlanRequiredError,
    StreamError,
    UnexpectedResponseError,
)
from workers_ai._catalog import catalog
from workers_ai._parse import parse_chat_result
from workers_ai._request import build_chat_body, client_side_stop
from workers_ai.errors import error_from_response
from workers_ai.streaming import StreamParser, stream_parser

GPT = "@cf/openai/gpt-oss-120b"
GLM = "@cf/zai-org/glm-4.7-flash"
KIMI = "@cf/moonshotai/kimi-k2.6"
LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TOOL_TURN: list[Any] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "reasoning": "The user wants the weather; call the tool.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]


# -- requests -------------------------------------------------------------------------------------


def test_a_responses_request_from_chat_messages() -> None:
    body = build_chat_body(
        GPT,
        TOOL_TURN,
        None,
        stream=True,
        options={
            "tools": [WEATHER],
            "tool_choice": "get_weather",
            "max_tokens": 100,
            "temperature": 0.2,
            "reasoning_effort": "high",
        },
    )
    assert body == {
        "input": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "reasoning",
                "summary": [],
                "content": [
                    {"type": "reasoning_text", "text": "The user wants the weather; call the tool."}
                ],
            },
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        ],
        "temperature": 0.2,
        "max_output_tokens": 100,
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": WEATHER["function"]["parameters"],
            }
        ],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "reasoning": {"effort": "high"},
        "stream": True,
    }


def test_responses_json_mode_is_text_format() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    bare = build_chat_body(
        GPT,
        None,
        "Ada",
        stream=False,
        options={"response_format": {"type": "json_schema", "json_schema": schema}},
    )
    assert bare == {
        "input": "Ada",
        "text": {"format": {"type": "json_schema", "name": "response", "schema": schema}},
    }
    named = build_chat_body(
        GPT,
        None,
        "Ada",
        stream=False,
        options={
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "Person", "schema": schema, "strict": True},
            }
        },
    )
    assert named["text"]["format"] == {
        "type": "json_schema",
        "name": "Person",
        "schema": schema,
        "strict": True,
    }
    anything = {"response_format": {"type": "json_object"}}
    assert build_chat_body(GPT, None, "x", stream=False, options=anything)["text"] == {
        "format": {"type": "json_object"}
    }


def test_options_the_responses_api_lacks_are_refused_and_stop_is_the_clients() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        build_chat_body(GPT, None, "x", stream=False, options={"top_k": 5, "seed": 2})
    assert str(caught.value) == (
        f"{GPT} answers through the Responses API, which has no top_k, seed; leave them out "
        "for this model."
    )
    body = build_chat_body(GPT, None, "x", stream=False, options={"stop": ["END"]})
    assert "stop" not in body
    assert client_side_stop(GPT, {"stop": "END"}) == ("END",)
    assert client_side_stop(LLAMA, {"stop": ["END"]}) == ()  # the model's own API stops


def test_reasoning_options_of_a_chat_completions_model() -> None:
    body = build_chat_body(
        GLM, None, "hi", stream=False, options={"reasoning_effort": "low", "thinking": False}
    )
    assert body == {
        "prompt": "hi",
        "reasoning_effort": "low",
        "chat_template_kwargs": {"enable_thinking": False},
    }
    kimi = build_chat_body(KIMI, None, "hi", stream=False, options={"thinking": True})
    assert kimi["chat_template_kwargs"] == {"thinking": True}  # kimi-k2.6's own switch


def test_reasoning_goes_back_only_on_tool_call_turns_and_only_where_it_is_read() -> None:
    turns = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b", "reasoning": "no call: not sent"},
        *TOOL_TURN[1:],
    ]
    sent = build_chat_body(GLM, turns, None, stream=False, options={})["messages"]
    assert "reasoning" not in sent[1]
    assert sent[3]["reasoning"] == "The user wants the weather; call the tool."
    legacy = build_chat_body(LLAMA, turns, None, stream=False, options={})["messages"]
    assert all("reasoning" not in m for m in legacy)


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        (
            LLAMA,
            {"reasoning_effort": "low"},
            f"{LLAMA} is not a reasoning model, so it takes no reasoning_effort; models that "
            "reason: ",
        ),
        (LLAMA, {"thinking": True}, "so it takes no thinking"),
        (
            GPT,
            {"reasoning_effort": "max"},
            f"reasoning_effort='max' is not one {GPT} takes; use one of 'low', 'medium', 'high'.",
        ),
        (
            "@cf/moonshotai/kimi-k2.7-code",
            {"reasoning_effort": "low"},
            "takes no reasoning_effort (Cloudflare lists no efforts for it)",
        ),
        (
            GPT,
            {"thinking": False},
            f"{GPT}'s reasoning cannot be turned off (it has no thinking switch). Lower it with "
            "reasoning_effort='low' instead.",
        ),
    ],
)
def test_bad_reasoning_options_fail_before_the_network(
    model: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        build_chat_body(model, None, "x", stream=False, options=options)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_effort_aliases_pass() -> None:
    body = build_chat_body(
        "@cf/zai-org/glm-5.3-flash", None, "x", stream=False, options={"reasoning_effort": "medium"}
    )
    assert body["reasoning_effort"] == "medium"  # Cloudflare maps it to "max"


# -- whole results --------------------------------------------------------------------------------


def responses_result(**extra: Any) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": GPT,
        "status": "completed",
        "output": [
            {
                "id": "rs_1",
                "type": "reasoning",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": "Think."}],
            },
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "The Baltic.", "annotations": []}],
            },
        ],
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 9,
            "output_tokens_details": {"reasoning_tokens": 2},
            "total_tokens": 21,
        },
        **extra,
    }


def test_a_responses_result_gives_its_text_reasoning_and_usage() -> None:
    result = parse_chat_result(responses_result(), model=GPT)
    assert (result.text, result.reasoning, result.finish_reason) == (
        "The Baltic.",
        "Think.",
        "stop",
    )
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 9)
    assert (result.usage.cached_tokens, result.usage.reasoning_tokens) == (4, 2)


def test_a_responses_result_with_function_calls() -> None:
    raw = responses_result(
        output=[
            {
                "id": "rs_1",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "Call it."}],
            },
            {
                "id": "fc_1",
                "type": "function_call",
                "call_id": "call_9",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
                "status": "completed",
            },
        ]
    )
    result = parse_chat_result(raw, model=GPT)
    assert (
        result.text == ""
        and result.reasoning == "Call it."
        and result.finish_reason == "tool_calls"
    )
    (call,) = result.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_9", "get_weather", {"city": "Paris"})


def test_an_incomplete_responses_result_is_cut_by_length() -> None:
    raw = responses_result(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    assert parse_chat_result(raw, model=GPT).finish_reason == "length"


def test_json_mode_parses_a_responses_answer() -> None:
    raw = responses_result()
    raw["output"][1]["content"][0]["text"] = '{"name": "Ada"}'
    assert parse_chat_result(raw, model=GPT, json_mode=True).parsed == {"name": "Ada"}


def test_reasoning_arrives_in_either_chat_completion_field() -> None:
    for field in ("reasoning", "reasoning_content"):
        raw = {
            "choices": [{"message": {"role": "assistant", "content": "A", field: "R"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2},
        }
        assert parse_chat_result(raw, model=KIMI).reasoning == "R"


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"answer": "x", "meta": 1}, "a result of no known shape (keys: answer, meta)"),
        ({}, "a result of no known shape (keys: none)"),
        (
            {"output": [{"type": "web_search_call", "id": "ws"}], "status": "completed"},
            "Responses output that holds no text, reasoning or tool call (status 'completed', "
            "item types: web_search_call)",
        ),
        ({"output": []}, "item types: none"),
    ],
)
def test_a_result_of_no_known_shape_raises_instead_of_empty_text(
    result: dict[str, Any], message: str
) -> None:
    with pytest.raises(UnexpectedResponseError) as caught:
        parse_chat_result(result, model=GPT)
    assert message in str(caught.value)


def test_stop_is_applied_to_a_whole_answer_when_the_client_must() -> None:
    result = parse_chat_result(responses_result(), model=GPT, stop=["Baltic"])
    assert (result.text, result.finish_reason) == ("The ", "stop")


# -- the Responses stream -------------------------------------------------------------------------


def event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "sequence_number": 0, **fields})


RESPONSES_STREAM = [
    event("response.created", response={"id": "r", "status": "in_progress", "output": []}),
    event("response.output_item.added", output_index=0, item={"type": "reasoning", "id": "rs"}),
    event(
        "response.reasoning_text.delta", item_id="rs", output_index=0, content_index=0, delta="Hm"
    ),
    event("response.output_item.done", output_index=0, item={"type": "reasoning", "id": "rs"}),
    event("response.output_item.added", output_index=1, item={"type": "message", "id": "m"}),
    event("response.output_text.delta", item_id="m", output_index=1, content_index=0, delta="Hi"),
    event("response.output_text.delta", item_id="m", output_index=1, content_index=0, delta="!"),
    event("response.output_text.done", item_id="m", output_index=1, content_index=0, text="Hi!"),
    event(
        "response.output_item.added",
        output_index=2,
        item={
            "type": "function_call",
            "id": "fc",
            "call_id": "call_7",
            "name": "f",
            "arguments": "",
        },
    ),
    event("response.function_call_arguments.delta", item_id="fc", output_index=2, delta='{"a"'),
    event("response.function_call_arguments.delta", item_id="fc", output_index=2, delta=": 1}"),
    event("response.output_item.done", output_index=2, item={"type": "function_call", "id": "fc"}),
    event(
        "response.completed",
        response={
            "model": GPT,
            "status": "completed",
            "usage": {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8},
        },
    ),
]


def test_the_responses_stream_ends_at_completed_without_done() -> None:
    parser = StreamParser(GPT)
    chunks = [c for c in map(parser.feed, RESPONSES_STREAM) if c is not None]
    assert parser.done  # no [DONE] needed
    assert "".join(c.reasoning for c in chunks) == "Hm"
    assert "".join(c.text for c in chunks) == "Hi!"
    deltas = [d for c in chunks for d in c.tool_calls]
    assert deltas[0].id == "call_7" and deltas[0].name == "f"
    assert "".join(d.arguments for d in deltas) == '{"a": 1}'
    last = chunks[-1]
    assert last.is_last and last.finish_reason == "tool_calls" and last.model == GPT
    assert last.usage is not None and last.usage.total_tokens == 8
    assert parser.feed("[DONE]") is None  # a [DONE] after it changes nothing


def test_a_function_call_sent_whole_at_its_done_event() -> None:
    parser = StreamParser(GPT)
    parser.feed(
        event(
            "response.output_item.added",
            output_index=0,
            item={"type": "function_call", "call_id": "c", "name": "f", "arguments": ""},
        )
    )
    chunk = parser.feed(
        event(
            "response.output_item.done",
            output_index=0,
            item={"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"x": 2}'},
        )
    )
    assert chunk is not None and chunk.tool_calls[0].arguments == '{"x": 2}'


def test_a_failed_or_incomplete_responses_stream() -> None:
    parser = StreamParser(GPT)
    with pytest.raises(StreamError, match="capacity gone"):
        parser.feed(event("response.failed", response={"error": {"message": "capacity gone"}}))
    with pytest.raises(StreamError, match="bad things"):
        StreamParser(GPT).feed(event("error", message="bad things", code="x"))
    cut = StreamParser(GPT)
    cut.feed(event("response.output_text.delta", output_index=0, delta="Hi"))
    last = cut.feed(
        event(
            "response.incomplete",
            response={
                "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"},
            },
        )
    )
    assert last is not None and last.finish_reason == "length"


def test_reasoning_deltas_of_chat_completion_chunks() -> None:
    parser = StreamParser(KIMI)
    chunk = parser.feed(json.dumps({"choices": [{"index": 0, "delta": {"reasoning": "R"}}]}))
    assert chunk is not None and chunk.reasoning == "R"


def test_a_stream_of_unknown_events_is_not_an_empty_answer() -> None:
    parser = StreamParser(GLM)
    assert parser.feed(json.dumps({"thought": "x"})) is None  # new kinds of event are skipped
    with pytest.raises(StreamError, match=r"only events of no known shape \(keys: thought\)"):
        parser.feed("[DONE]")
    fine = StreamParser(GLM)
    fine.feed(json.dumps({"thought": "x"}))
    fine.feed(json.dumps({"response": "text"}))
    assert fine.feed("[DONE]") is not None


def test_the_client_applies_stop_to_a_stream_across_pieces() -> None:
    parser = stream_parser(GPT, None, ["STOP"])
    pieces = ["Hello ", "wor", "ld ST", "OP and more", " text"]
    chunks = [
        parser.feed(event("response.output_text.delta", output_index=0, delta=p)) for p in pieces
    ]
    last = parser.feed(event("response.completed", response={"status": "completed"}))
    assert "".join(c.text for c in chunks if c is not None) == "Hello world "
    assert last is not None and last.text == "" and last.finish_reason == "stop"
    open_ended = stream_parser(GPT, None, ["zzz"])
    open_ended.feed(event("response.output_text.delta", output_index=0, delta="ends in zz"))
    tail = open_ended.feed(event("response.completed", response={"status": "completed"}))
    assert tail is not None and tail.text == "zz"  # held back, then given: it was no stop


# -- lifecycle errors from Cloudflare's answers -------------------------------------------------


def envelope(code: int, message: str) -> bytes:
    return json.dumps({"success": False, "errors": [{"code": code, "message": message}]}).encode()


def test_403_5035_is_a_paid_plan_error_naming_free_models() -> None:
    error = error_from_response(
        403,
        envelope(5035, f"AiError: Model {KIMI} is not available on the Workers Free plan."),
        {},
        model=KIMI,
        facts=catalog(),
    )
    assert isinstance(error, PaidPlanRequiredError)
    assert len(error.alternatives) == 3
    assert f"{KIMI} needs the Workers Paid plan (or prepaid AI Gateway credits" in str(error)
    assert f"Free-plan models for the same task: {', '.join(error.alternatives)}." in str(error)


def test_410_5028_is_a_deprecation_error_with_its_date() -> None:
    model = "@cf/meta/llama-3-8b-instruct"  # retired on 2026-05-30, on purpose
    error = error_from_response(
        410,
        envelope(
            5028,
            f"AiError: Model has been deprecated: {model} was deprecated on 2026-05-30. See the "
            "model catalog for alternatives",
        ),
        {},
        model=model,
        facts=catalog(),
    )
    assert isinstance(error, ModelDeprecatedError) and isinstance(error, NotFoundError)
    assert (error.deprecated_on, error.replacement) == ("2026-05-30", "@cf/zai-org/glm-4.7-flash")
    assert "Use @cf/zai-org/glm-4.7-flash instead." in str(error)


def test_no_such_model_suggests_close_names() -> None:
    model = "@cf/zai-org/glm-4.7-flsh"
    error = error_from_response(
        400, envelope(5007, f"No such model {model} or task"), {}, model=model, facts=catalog()
    )
    assert isinstance(error, NotFoundError)
    assert "Did you mean @cf/zai-org/glm-4.7-flash" in str(error)
