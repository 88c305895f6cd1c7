"""Property-based tests of every parser: whatever the wire sends, a typed value or our error.

Each parser gets (1) arbitrary JSON in every slot it reads, where the only allowed failure is a
:class:`WorkersAIError` subclass, and (2) well-formed answers built by a generator, which must
parse to the values they were built from. Streams are also framed as SSE and re-split at any
byte. Bodies that once broke errors.py and client.py are kept as plain tests at the end.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import string
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workers_ai import AsyncWorkersAI, WorkersAI
from workers_ai._parse import (
    parse_chat_result,
    parse_embeddings,
    parse_model_info,
    parse_tool_call,
    parse_usage,
    unwrap_envelope,
)
from workers_ai.errors import (
    APIStatusError,
    AuthenticationError,
    StreamError,
    UnexpectedResponseError,
    WorkersAIError,
    error_from_response,
)
from workers_ai.streaming import StreamParser, chunk_from_result
from workers_ai.types import ChatChunk, ChatResult, ModelInfo, Usage

MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8"
T = TypeVar("T")

# Pure parsers are fast: more examples. End-to-end cases build a client and an httpx exchange.
PURE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
E2E = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ours(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | WorkersAIError:
    """Call a parser: its value, or the WorkersAIError it raised. Anything else fails the test."""
    try:
        return fn(*args, **kwargs)
    except WorkersAIError as error:
        assert isinstance(error.message, str) and error.message.strip()
        return error


# -- strategies: JSON values ------------------------------------------------------------------

ODD_STRINGS = [
    "",
    " ",
    "[DONE]",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "3.5",
    "1e400",
    "-1e400",
    "inf",
    "Infinity",
    "NaN",
    "nan",
    "{",
    '{"a": ',
    '{"a": 1}',
    "[1, 2]",
    '"quoted"',
    "\x00",
    "\ud83d",  # half of a surrogate pair: valid as a JSON escape, not as UTF-8
    "\u2028 \x85",  # line separators that JSON.stringify leaves raw
    "<html><title>x</title></html>",
    "ünïcödé ✓ 日本語 🙂",
]
# Field names the parsers read, so random objects hit real code paths.
KEYS = [
    "response",
    "tool_calls",
    "usage",
    "choices",
    "message",
    "delta",
    "content",
    "function",
    "name",
    "arguments",
    "id",
    "index",
    "finish_reason",
    "result",
    "success",
    "errors",
    "error",
    "code",
    "data",
    "embedding",
    "properties",
    "property_id",
    "value",
    "p",
]
# Up to 4300 digits: the most json.loads reads (a longer number is a ValueError).
huge_integers = st.builds(
    lambda digits, sign: sign * int("9" * digits), st.integers(19, 4300), st.sampled_from([1, -1])
)

strings = st.text(max_size=12) | st.sampled_from(ODD_STRINGS)
integers = st.integers() | huge_integers
scalars = st.none() | st.booleans() | integers | st.floats() | strings
keys = st.sampled_from(KEYS) | st.text(max_size=6)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=10,
)
# Without NaN (NaN != NaN) and with exact floats: for values that must come back equal.
finite_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
finite_values: st.SearchStrategy[Any] = st.recursive(
    finite_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
finite_objects = st.dictionaries(st.text(max_size=8), finite_values, max_size=4)
tool_names = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=16)


def _truncations(text: str) -> st.SearchStrategy[str]:
    return st.integers(0, len(text)).map(lambda i: text[:i])


json_texts = json_values.map(lambda v: json.dumps(v))
truncated_json = json_values.map(lambda v: json.dumps(v)).flatmap(_truncations)
deep_json_text = st.integers(500, 5000).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "[" * n])
)
arguments = json_values | json_texts | truncated_json | strings | deep_json_text

# -- strategies: the three result families, with anything in any slot -------------------------

usage_numbers = (
    integers | st.floats() | strings | st.booleans() | st.none() | st.integers(-9, 99).map(str)
)
usages = (
    st.fixed_dictionaries(
        {},
        optional={
            "prompt_tokens": usage_numbers,
            "completion_tokens": usage_numbers,
            "total_tokens": usage_numbers,
            "input_tokens": usage_numbers,
            "output_tokens": usage_numbers,
            "neurons": usage_numbers,
            "prompt_tokens_details": st.fixed_dictionaries(
                {}, optional={"cached_tokens": usage_numbers}
            )
            | json_values,
        },
    )
    | json_values
)
odd_names = tool_names | json_values
odd_functions = (
    st.fixed_dictionaries({}, optional={"name": odd_names, "arguments": arguments}) | json_values
)
odd_tool_calls = (
    st.fixed_dictionaries(
        {},
        optional={
            "id": strings | json_values,
            "type": st.just("function") | json_values,
            "index": integers | json_values,
            "name": odd_names,
            "arguments": arguments,
            "function": odd_functions,
        },
    )
    | json_values
)
tool_call_slots = st.lists(odd_tool_calls, max_size=3) | json_values
texts = strings | json_values
legacy_results = st.fixed_dictionaries(
    {},
    optional={
        "response": texts,
        "tool_calls": tool_call_slots,
        "usage": usages,
        "finish_reason": texts,
        "p": strings,
    },
)
openai_messages = (
    st.fixed_dictionaries(
        {},
        optional={
            "role": texts,
            "content": texts,
            "reasoning_content": texts,
            "reasoning": texts,
            "tool_calls": tool_call_slots,
        },
    )
    | json_values
)
openai_choices = (
    st.fixed_dictionaries(
        {},
        optional={
            "index": integers | json_values,
            "message": openai_messages,
            "text": texts,
            "finish_reason": texts,
        },
    )
    | json_values
)
openai_results = st.fixed_dictionaries(
    {"choices": st.lists(openai_choices, max_size=3) | json_values},
    optional={"id": texts, "object": texts, "model": texts, "usage": usages},
)
any_results = legacy_results | openai_results | json_values


def envelopes(results: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"result": results},
        optional={
            "success": st.booleans() | json_values,
            "errors": json_values,
            "messages": json_values,
            "result_info": json_values,
        },
    )


def _check_chat_result(result: ChatResult) -> None:
    assert isinstance(result.text, str)
    assert result.finish_reason is None or isinstance(result.finish_reason, str)
    assert isinstance(result.model, str) and result.model
    assert result.reasoning is None or isinstance(result.reasoning, str)
    for call in result.tool_calls:
        assert isinstance(call.name, str) and call.name
        assert isinstance(call.id, str) and call.id
        assert isinstance(call.arguments, dict) and isinstance(call.raw_arguments, str)
        assert call.error is None or (call.arguments == {} and call.error)
    if result.usage is not None:
        assert all(
            type(n) is int for n in (result.usage.prompt_tokens, result.usage.completion_tokens)
        )
    chunk = chunk_from_result(result)
    assert chunk.is_last and chunk.text == result.text


# -- (1) envelopes and the three result shapes: anything in any slot --------------------------


@PURE
@given(body=envelopes(any_results) | json_values)
def test_unwrap_envelope_takes_the_result_or_leaves_the_body(body: Any) -> None:
    unwrapped = unwrap_envelope(body)
    if isinstance(body, dict) and "result" in body and ("success" in body or "errors" in body):
        assert unwrapped is body["result"]
    else:
        assert unwrapped is body


@PURE
@given(result=any_results, json_mode=st.booleans(), cf_ray=st.none() | st.text(max_size=8))
# Found by this test: a pydantic ValidationError, an OverflowError, str() of an object as model
@example({"response": "x", "finish_reason": 3}, False, None)
@example({"choices": [{"message": {"content": "x"}, "finish_reason": {}}]}, False, None)
@example({"choices": [], "model": {"a": 1}}, False, None)
@example({"response": "", "usage": {"prompt_tokens": "inf"}}, False, None)
def test_any_chat_result_parses_or_raises_our_error(
    result: Any, json_mode: bool, cf_ray: str | None
) -> None:
    parsed = ours(parse_chat_result, result, model=MODEL, cf_ray=cf_ray, json_mode=json_mode)
    if isinstance(parsed, WorkersAIError):
        assert isinstance(parsed, UnexpectedResponseError)
        return
    _check_chat_result(parsed)
    assert parsed.cf_ray == cf_ray and parsed.raw == dict(result)
    wire_model = result.get("model")
    if "choices" in result and not (isinstance(wire_model, str) and wire_model):
        assert parsed.model == MODEL  # not str() of whatever the wire put there


@PURE
@given(raw=odd_tool_calls)
def test_any_tool_call_parses_or_raises_our_error(raw: Any) -> None:
    call = ours(parse_tool_call, raw)
    if not isinstance(call, WorkersAIError):
        assert call.name and isinstance(call.arguments, dict)
        if call.error is None and call.raw_arguments.strip():
            # a call without an error has arguments that are the raw text's JSON object
            assert isinstance(json.loads(call.raw_arguments), dict)


@PURE
@given(raw=usages)
@example({"prompt_tokens": "inf"})
@example({"total_tokens": math.inf, "completion_tokens": "1e400"})
@example({"prompt_tokens_details": {"cached_tokens": -math.inf}})
def test_any_usage_is_none_or_integers(raw: Any) -> None:
    usage = parse_usage(raw)
    assert usage is None or isinstance(usage, Usage)
    if usage is not None:
        assert all(
            type(n) is int
            for n in (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        )
        assert usage.cached_tokens is None or type(usage.cached_tokens) is int


# -- (1) well-formed results parse to the values they were built from -------------------------

counts = st.integers(0, 10**6)


@st.composite
def usage_dicts(draw: st.DrawFn) -> dict[str, Any]:
    prompt, completion = draw(counts), draw(counts)
    as_text = draw(st.booleans())  # some answers send numbers as strings
    usage: dict[str, Any] = {
        "prompt_tokens": str(prompt) if as_text else prompt,
        "completion_tokens": completion,
    }
    if draw(st.booleans()):
        usage["total_tokens"] = prompt + completion
    return usage


def _expect_usage(usage: Usage | None, raw: dict[str, Any]) -> None:
    assert usage is not None
    prompt, completion = int(raw["prompt_tokens"]), raw["completion_tokens"]
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt, completion)
    assert usage.total_tokens == prompt + completion


calls = st.lists(st.tuples(tool_names, finite_objects), max_size=3)


@PURE
@given(text=st.text(), tool_calls=calls, usage=usage_dicts(), finish=st.none() | tool_names)
def test_legacy_result_round_trip(
    text: str,
    tool_calls: list[tuple[str, dict[str, Any]]],
    usage: dict[str, Any],
    finish: str | None,
) -> None:
    raw: dict[str, Any] = {
        "response": text,
        "tool_calls": [{"name": n, "arguments": a} for n, a in tool_calls],
        "usage": usage,
    }
    if finish:
        raw["finish_reason"] = finish
    result = parse_chat_result(raw, model=MODEL)
    assert result.text == text and result.parsed is None
    assert [(c.name, c.arguments) for c in result.tool_calls] == tool_calls
    assert all(json.loads(c.raw_arguments) == c.arguments for c in result.tool_calls)
    assert all(c.id.startswith("call_") and c.error is None for c in result.tool_calls)
    assert len({c.id for c in result.tool_calls}) == len(tool_calls)
    assert result.finish_reason == (finish or ("tool_calls" if tool_calls else None))
    _expect_usage(result.usage, usage)


@PURE
@given(tool_calls=st.lists(st.tuples(tool_names, tool_names, finite_objects), max_size=3))
def test_scout_result_round_trip(tool_calls: list[tuple[str, str, dict[str, Any]]]) -> None:
    raw = {
        "response": None,
        "tool_calls": [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in tool_calls
        ],
    }
    result = parse_chat_result(raw, model=MODEL)
    assert result.text == ""
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == tool_calls


@PURE
@given(
    content=st.text(),
    reasoning=st.text(),
    tool_calls=st.lists(
        st.tuples(tool_names, tool_names, finite_objects, st.sampled_from([None, 2])),
        max_size=3,
    ),
    usage=usage_dicts(),
    model=st.none() | tool_names,
    finish=tool_names,
)
def test_openai_result_round_trip(
    content: str,
    reasoning: str,
    tool_calls: list[tuple[str, str, dict[str, Any], int | None]],
    usage: dict[str, Any],
    model: str | None,
    finish: str,
) -> None:
    wire = [json.dumps(a, indent=indent) for _, _, a, indent in tool_calls]
    raw: dict[str, Any] = {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "reasoning_content": reasoning,
                    "tool_calls": [
                        {"id": i, "type": "function", "function": {"name": n, "arguments": w}}
                        for (i, n, _, _), w in zip(tool_calls, wire, strict=True)
                    ],
                },
                "finish_reason": finish,
            }
        ],
        "usage": usage,
    }
    if model is not None:
        raw["model"] = model
    result = parse_chat_result(raw, model=MODEL)
    assert result.text == content
    assert result.reasoning == (reasoning or None)
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        (i, n, a) for i, n, a, _ in tool_calls
    ]
    assert [c.raw_arguments for c in result.tool_calls] == wire  # string arguments kept as sent
    assert result.finish_reason == finish and result.model == (model or MODEL)
    _expect_usage(result.usage, usage)


@PURE
@given(value=finite_values.filter(lambda v: not isinstance(v, str | None)), as_text=st.booleans())
def test_json_mode_round_trip(value: Any, as_text: bool) -> None:
    # JSON mode: the response arrives as a value (legacy models) or as its JSON text.
    response = json.dumps(value) if as_text else value
    result = parse_chat_result({"response": response}, model=MODEL, json_mode=True)
    assert json.loads(result.text) == value and result.parsed == value


@PURE
@given(text=arguments, nested=st.booleans())
def test_any_argument_text_gives_an_object_or_an_error_note(text: Any, nested: bool) -> None:
    raw = (
        {"function": {"name": "f", "arguments": text}}
        if nested
        else {"name": "f", "arguments": text}
    )
    call = parse_tool_call(raw)  # a call with a name never raises: bad arguments are a note
    if call.error is None:
        assert call.raw_arguments.strip() in ("", "{}") or isinstance(
            json.loads(call.raw_arguments), dict
        )
    else:
        assert call.arguments == {}


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"response": value}
    return value


@pytest.mark.parametrize("depth", [1200, 5000])
def test_values_nested_past_the_recursion_limit_give_a_result_or_our_error(depth: int) -> None:
    # json.loads in a shallow frame can build a value that json.dumps or repr cannot walk in a
    # deeper one; a parser must still fail as our error.
    deep = _nested(depth)
    for result in (
        deep,
        {"response": deep},
        {"choices": [deep]},
        {"choices": [{"message": {"content": deep}}]},
        {"tool_calls": deep},
        {"tool_calls": [{"name": "f", "arguments": deep}]},
        {"tool_calls": [deep]},
    ):
        assert isinstance(ours(parse_chat_result, result, model=MODEL), WorkersAIError | ChatResult)
    assert isinstance(ours(parse_embeddings, deep), UnexpectedResponseError)
    assert isinstance(ours(parse_embeddings, {"data": [deep]}), UnexpectedResponseError)
    assert isinstance(ours(parse_model_info, deep), UnexpectedResponseError)


# -- (1) end to end: any 200 body through the client ------------------------------------------


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> WorkersAI:
    return WorkersAI(
        account_id="a",
        api_token="t",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def _replying(status: int, content: bytes, headers: dict[str, str] | None = None) -> WorkersAI:
    return _client(lambda _: httpx.Response(status, content=content, headers=headers))


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = envelopes(any_results).map(_dump) | json_values.map(_dump) | st.binary(max_size=64)


@E2E
@given(body=bodies)
def test_any_200_chat_body_gives_a_result_or_our_error(body: bytes) -> None:
    result = ours(_replying(200, body).chat, MODEL, prompt="hi")
    if isinstance(result, ChatResult):
        _check_chat_result(result)


# -- (2) error bodies -------------------------------------------------------------------------

codes = (
    st.none()
    | st.booleans()
    | integers
    | st.floats()
    | strings
    | st.sampled_from([10000, 3036, 3040, 5007, 7003, 2009, 5021, "3040", " 3036 ", "12a"])
)
error_messages = (
    strings
    | json_values
    | st.sampled_from(
        [
            "Unauthorized",
            "Rate limited.",
            "AiError: Bad input: tokens (35000) exceeded this model context window limit (24000)",
            "This model's maximum context length of 256000 tokens",
        ]
    )
)
error_items = st.fixed_dictionaries({}, optional={"code": codes, "message": error_messages}) | (
    json_values
)
error_slots = st.lists(error_items, max_size=3) | error_items | json_values
error_bodies = (
    st.fixed_dictionaries(
        {},
        optional={
            "success": st.just(False) | json_values,
            "result": st.sampled_from([None, {}, []]) | json_values,
            "messages": json_values,
            "errors": error_slots,
            "error": error_slots,
        },
    )
    | json_values
)
html_pages = st.builds(
    "<!DOCTYPE html><html><head><title>{}</title></head><body>{}</body></html>".format,
    st.text(max_size=20),
    st.text(max_size=20),
)
error_contents = (
    error_bodies.map(_dump)
    | st.binary(max_size=80)
    | st.text(max_size=40).map(str.encode)
    | html_pages.map(str.encode)
)
header_text = st.text(alphabet=string.printable.strip() + " ", max_size=12)
retry_afters = (
    st.sampled_from(
        ["0", "1", "3600", "-5", "1.5", " 7 ", "", "soon", "Wed, 21 Oct 2026 07:28:00 GMT", "1e9"]
    )
    | header_text
)
headers = st.fixed_dictionaries({}, optional={"retry-after": retry_afters, "cf-ray": header_text})
statuses = st.integers(400, 599)


def _check_error(error: APIStatusError, status: int) -> None:
    assert isinstance(error, APIStatusError)
    assert isinstance(error.message, str) and error.message.strip()
    assert str(error) == error.message and error.status == status
    assert error.code is None or type(error.code) is int
    assert isinstance(error.errors, list) and all(isinstance(e, dict) for e in error.errors)


@PURE
@given(status=statuses, content=error_contents, headers=headers)
def test_any_error_body_gives_an_api_status_error_with_a_message(
    status: int, content: bytes, headers: dict[str, str]
) -> None:
    error = error_from_response(status, content, httpx.Headers(headers))
    _check_error(error, status)
    assert error.retry_after is None or error.retry_after >= 0


@PURE
@given(
    status=statuses,
    code=st.integers(0, 10**6),
    message=st.text(min_size=1).filter(str.strip),
    where=st.sampled_from(["errors", "error_object", "error_list"]),
)
def test_error_envelope_round_trip(status: int, code: int, message: str, where: str) -> None:
    item = {"code": code, "message": message}
    body: dict[str, Any] = {"success": False, "result": None, "messages": []}
    if where == "errors":
        body["errors"] = [item]
    elif where == "error_object":
        body["error"] = item
    else:  # the AI Gateway's shape (needs _error_list to read a list under "error")
        body["error"] = [item]
    error = error_from_response(status, _dump(body), {})
    _check_error(error, status)
    assert error.code == code and message.strip() in error.message
    assert error.errors == [item]


def test_ai_gateway_error_list_is_read() -> None:
    # Depends on _error_list in errors.py accepting "error" as a list (the gateway's shape).
    body = {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": 2009, "message": "Unauthorized"}],
    }
    error = error_from_response(401, _dump(body), {})
    assert isinstance(error, AuthenticationError)
    assert error.code == 2009 and "Unauthorized" in error.message


@PURE
@given(status=statuses, title=st.text(max_size=30))
def test_html_pages_are_named_as_html(status: int, title: str) -> None:
    page = f"<html><head><title>{title}</title></head><body>x</body></html>".encode()
    error = error_from_response(status, page, {})
    _check_error(error, status)
    assert "HTML page" in error.message


@E2E
@given(status=statuses, content=error_contents, headers=headers)
def test_any_error_answer_through_the_client_raises_an_api_status_error(
    status: int, content: bytes, headers: dict[str, str]
) -> None:
    client = _replying(status, content, headers)
    with pytest.raises(APIStatusError) as caught:
        client.chat(MODEL, prompt="hi")
    _check_error(caught.value, status)


@E2E
@given(content=error_bodies.map(lambda b: {**b, "success": False} if isinstance(b, dict) else b))
def test_a_200_that_says_success_false_raises_our_error(content: Any) -> None:
    body = _dump(content)
    result = ours(_replying(200, body).chat, MODEL, prompt="hi")
    if isinstance(content, dict) and content.get("success") is False:
        assert isinstance(result, APIStatusError)


# -- (3) stream events: anything fed to the parser --------------------------------------------

odd_tool_deltas = (
    st.fixed_dictionaries(
        {},
        optional={
            "index": integers | json_values,
            "id": strings | json_values,
            "type": st.just("function") | json_values,
            "function": odd_functions,
            "name": odd_names,
            "arguments": arguments,
        },
    )
    | json_values
)
tool_delta_slots = st.lists(odd_tool_deltas, max_size=3) | json_values
native_events = st.fixed_dictionaries(
    {},
    optional={
        "response": texts,
        "p": strings,
        "tool_calls": tool_delta_slots,
        "usage": usages,
        "finish_reason": texts,
    },
)
openai_deltas = (
    st.fixed_dictionaries(
        {},
        optional={
            "role": texts,
            "content": texts,
            "reasoning_content": texts,
            "reasoning": texts,
            "tool_calls": tool_delta_slots,
        },
    )
    | json_values
)
openai_events = st.fixed_dictionaries(
    {
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": st.just(0) | integers | json_values,
                    "delta": openai_deltas,
                    "text": texts,
                    "finish_reason": texts,
                },
            )
            | json_values,
            max_size=3,
        )
        | json_values
    },
    optional={"id": texts, "object": texts, "model": texts, "usage": usages},
)
usage_only_events = st.fixed_dictionaries({"usage": usages}, optional={"response": texts})
event_data = st.one_of(
    native_events.map(json.dumps),
    openai_events.map(json.dumps),
    usage_only_events.map(json.dumps),
    json_values.map(json.dumps),
    truncated_json,
    deep_json_text,
    st.sampled_from(["[DONE]", " [DONE] ", "[DONE]x", "[done]", "", " ", '"[DONE]"']),
    strings,
)


@PURE
@given(family=st.sampled_from(["native", "openai", "mixed"]), data=st.data())
def test_any_stream_events_give_chunks_or_a_stream_error(family: str, data: st.DataObject) -> None:
    events = {
        "native": native_events.map(json.dumps) | event_data,
        "openai": openai_events.map(json.dumps) | event_data,
        "mixed": event_data,
    }[family]
    parser = StreamParser(MODEL, cf_ray="r")
    started: set[int] = set()
    for item in data.draw(st.lists(events, max_size=8)):
        chunk = ours(parser.feed, item)
        if isinstance(chunk, WorkersAIError):
            assert isinstance(chunk, StreamError | UnexpectedResponseError)
            return
        if chunk is not None:
            assert isinstance(chunk, ChatChunk)
            assert chunk.is_last == parser.done
            for delta in chunk.tool_calls:
                assert delta.index in started or delta.id  # a new call carries its id first
                started.add(delta.index)
    if not parser.done:
        assert isinstance(parser.incomplete_error(), StreamError)


@pytest.mark.parametrize(
    "data",
    [  # found by the property above: TypeError, OverflowError, RecursionError
        '{"choices": [{"index": 0, "delta": {"content": 5}}]}',
        '{"choices": [{"index": 0, "delta": {"reasoning_content": ["a"]}}]}',
        '{"response": "", "usage": {"prompt_tokens": Infinity}}',
        '{"usage": {"completion_tokens": "1e400"}}',
        '{"response": ' + "[" * 5000 + "]" * 5000 + "}",
        "[" * 100_000,
    ],
)
def test_stream_events_that_broke_the_parser(data: str) -> None:
    result = ours(StreamParser(MODEL).feed, data)
    assert result is None or isinstance(result, ChatChunk | StreamError)


# -- (3) well-formed streams of each family: generated, fed, framed and re-split ---------------

tokens = st.text(max_size=6) | st.sampled_from(
    ["\u2028", "\x85", "é", "日本", "🙂", "\r\n", "data: x"]
)


def _pieces(text: str) -> st.SearchStrategy[list[str]]:
    cuts = st.lists(st.integers(0, len(text)), max_size=4)
    return cuts.map(
        lambda c: [text[a:b] for a, b in itertools.pairwise(sorted({0, len(text), *c}))]
    )


Stream = tuple[list[str], dict[str, Any]]


def _expected(
    text: str = "",
    reasoning: str = "",
    calls: dict[int, tuple[str | None, str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    finish: str | None = None,
    model: str = MODEL,
) -> dict[str, Any]:
    return {
        "text": text,
        "reasoning": reasoning,
        "calls": calls or {},
        "usage": usage,
        "finish": finish,
        "model": model,
    }


@st.composite
def legacy_streams(draw: st.DrawFn) -> Stream:
    events: list[str] = []
    text: list[str] = []
    calls: dict[int, tuple[str | None, str, Any]] = {}
    ascii_only = draw(st.booleans())
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["token", "token", "heartbeat", "calls"]))
        if kind == "token":
            token = draw(tokens)
            event: dict[str, Any] = {"response": token}
            if draw(st.booleans()):
                event["p"] = draw(st.text(string.ascii_letters, max_size=8))
            text.append(token)
        elif kind == "heartbeat":
            event = draw(
                st.sampled_from([{"response": "", "p": "heartbeat"}, {"tool_calls": [], "p": "ab"}])
            )
        else:
            new = draw(st.lists(st.tuples(tool_names, finite_objects), min_size=1, max_size=2))
            for name, args in new:
                calls[len(calls)] = (None, name, args)
            event = {"response": "", "tool_calls": [{"name": n, "arguments": a} for n, a in new]}
        events.append(json.dumps(event, ensure_ascii=ascii_only))
        if draw(st.booleans()):
            events.append("")  # an empty data line
    usage = draw(usage_dicts())
    events.append(json.dumps({"response": "", "usage": usage}))
    events.append("[DONE]")
    finish = "tool_calls" if calls else None
    return events, _expected("".join(text), calls=calls, usage=usage, finish=finish)


@st.composite
def native_tool_streams(draw: st.DrawFn) -> Stream:
    events: list[str] = []
    calls: dict[int, tuple[str | None, str, Any]] = {}
    for index in range(draw(st.integers(1, 3))):
        call_id, name, args = draw(tool_names), draw(tool_names), draw(finite_objects)
        calls[index] = (call_id, name, args)
        head = {"id": call_id, "type": "function", "index": index, "function": {"name": name}}
        events.append(json.dumps({"tool_calls": [head]}))
        for piece in draw(_pieces(json.dumps(args))):
            events.append(
                json.dumps({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
        sentinel = {
            "id": None,
            "type": None,
            "index": index,
            "function": {"name": None, "arguments": ""},
        }
        events.append(json.dumps({"tool_calls": [sentinel]}))
    usage = draw(usage_dicts())
    events += [json.dumps({"response": "", "usage": usage}), "[DONE]"]
    return events, _expected(calls=calls, usage=usage, finish="tool_calls")


@st.composite
def openai_streams(draw: st.DrawFn) -> Stream:
    model = draw(tool_names)
    prompt = draw(counts)
    completion = 0
    events: list[str] = []

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        body = {"id": "c", "object": "chat.completion.chunk", "model": model, "choices": [choice]}
        return json.dumps({**body, "usage": usage}, ensure_ascii=False)

    text, reasoning = [], []
    calls: dict[int, tuple[str | None, str, Any]] = {}
    for _ in range(draw(st.integers(0, 6))):
        completion += draw(st.integers(0, 3))
        kind = draw(st.sampled_from(["content", "reasoning", "call"]))
        if kind == "content":
            token = draw(tokens)
            text.append(token)
            events.append(chunk({"role": "assistant", "content": token}))
        elif kind == "reasoning":
            token = draw(tokens)
            reasoning.append(token)
            events.append(chunk({"reasoning_content": token}))
        else:
            index, call_id = len(calls), draw(tool_names)
            name, args = draw(tool_names), draw(finite_objects)
            calls[index] = (call_id, name, args)
            head = {"index": index, "id": call_id, "type": "function"}
            events.append(
                chunk({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
            )
            for piece in draw(_pieces(json.dumps(args))):
                events.append(
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                )
    finish = draw(st.sampled_from(["stop", "length", "tool_calls"]))
    events.append(chunk({}, finish))
    usage = {"prompt_tokens": prompt, "completion_tokens": completion}
    if draw(st.booleans()):
        events.append(json.dumps({"id": "c", "choices": [], "usage": usage}))
    if draw(st.booleans()):
        events.append(json.dumps({"response": "", "usage": usage}))
    events.append("[DONE]")
    return events, _expected(
        "".join(text), "".join(reasoning), calls, usage=usage, finish=finish, model=model
    )


streams = legacy_streams() | native_tool_streams() | openai_streams()


def _summary(chunks: list[ChatChunk]) -> dict[str, Any]:
    """What a caller assembles from the chunks, in the shape of :func:`_expected`."""
    assert chunks and chunks[-1].is_last and not any(c.is_last for c in chunks[:-1])
    assert all(c.usage is None and c.finish_reason is None for c in chunks[:-1])
    calls: dict[int, list[Any]] = {}
    for delta in (d for c in chunks for d in c.tool_calls):
        if delta.index not in calls:
            assert delta.id  # a new call always carries its id first
            calls[delta.index] = [delta.id, delta.name, ""]
        else:
            assert delta.id in (None, calls[delta.index][0])
        calls[delta.index][2] += delta.arguments
    last = chunks[-1]
    usage = last.usage
    return {
        "text": "".join(c.text for c in chunks),
        "reasoning": "".join(c.reasoning for c in chunks),
        "calls": {i: (cid, name, json.loads(args)) for i, (cid, name, args) in calls.items()},
        "usage": None
        if usage is None
        else (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        "finish": last.finish_reason,
        "model": last.model,
    }


def _comparable(expected: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    out = dict(expected)
    raw = expected["usage"]
    if raw is not None:
        prompt, completion = int(raw["prompt_tokens"]), int(raw["completion_tokens"])
        out["usage"] = (prompt, completion, prompt + completion)
    # Legacy calls come without ids: take the generated ones.
    out["calls"] = {
        i: (cid if cid is not None else summary["calls"].get(i, (None,))[0], name, args)
        for i, (cid, name, args) in expected["calls"].items()
    }
    return out


def _feed(events: list[str]) -> list[ChatChunk]:
    parser = StreamParser(MODEL, cf_ray="r1")
    chunks = [c for c in map(parser.feed, events) if c is not None]
    assert parser.done
    return chunks


@PURE
@given(stream=streams)
def test_generated_streams_parse_to_what_they_carry(stream: Stream) -> None:
    events, expected = stream
    summary = _summary(_feed(events))
    assert summary == _comparable(expected, summary)


def _frame(events: list[str], newline: str, comments: bool) -> bytes:
    out = [": keep-alive" + newline] if comments else []
    for i, data in enumerate(events):
        extra = f"id: {i}{newline}event: message{newline}" if comments and i % 2 else ""
        out.append(f"{extra}data: {data}{newline}{newline}")
    return "".join(out).encode("utf-8", "surrogatepass")  # a lone surrogate: invalid UTF-8


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


class _Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def _sse(pieces: list[bytes]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream", "cf-ray": "r1"},
            stream=_Pieces(pieces),
        )

    return handler


def _canonical(chunks: list[ChatChunk], generated: set[str]) -> list[dict[str, Any]]:
    out = []
    for chunk in chunks:
        data = dataclasses.asdict(chunk)
        for delta in data["tool_calls"]:
            if delta["id"] in generated:
                delta["id"] = "<generated>"
        out.append(data)
    return out


def _generated_ids(chunks: list[ChatChunk], events: list[str]) -> set[str]:
    return {d.id for c in chunks for d in c.tool_calls if d.id and d.id not in "".join(events)}


@E2E
@given(
    stream=streams,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    comments=st.booleans(),
    cuts=st.lists(st.integers(0, 10_000), max_size=30),
)
def test_generated_streams_split_anywhere_give_the_same_chunks(
    stream: Stream, newline: str, comments: bool, cuts: list[int]
) -> None:
    events, _ = stream
    data = _frame(events, newline, comments)
    direct = _feed(events)
    whole = list(_client(_sse([data])).stream_chat(MODEL, prompt="hi"))
    pieces = list(_client(_sse(_split(data, cuts))).stream_chat(MODEL, prompt="hi"))
    ids = _generated_ids(direct + whole + pieces, events)
    for chunks in (whole, pieces):
        assert _canonical(chunks, ids) == _canonical(direct, ids)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams, cuts=st.lists(st.integers(0, 10_000), max_size=30))
async def test_generated_streams_split_anywhere_async(stream: Stream, cuts: list[int]) -> None:
    events, _ = stream
    data = _frame(events, "\n", comments=False)
    client = AsyncWorkersAI(
        account_id="a",
        api_token="t",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(_sse(_split(data, cuts)))),
    )
    chunks = [c async for c in client.stream_chat(MODEL, prompt="hi")]
    direct = _feed(events)
    ids = _generated_ids(direct + chunks, events)
    assert _canonical(chunks, ids) == _canonical(direct, ids)


@E2E
@given(
    body=st.binary(max_size=200)
    | st.lists(event_data, max_size=6).map(lambda e: _frame(e, "\n", False))
)
def test_any_event_stream_body_gives_chunks_or_our_error(body: bytes) -> None:
    result = ours(lambda: list(_client(_sse([body])).stream_chat(MODEL, prompt="hi")))
    if isinstance(result, WorkersAIError):
        assert isinstance(result, StreamError | UnexpectedResponseError)


# -- (4) the model catalog --------------------------------------------------------------------

property_values = json_values | st.sampled_from(
    ["true", "false", "TRUE", "1", "yes", "24000", "1e400", "inf"]
)
odd_properties = (
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "property_id": st.sampled_from(
                    [
                        "context_window",
                        "max_input_tokens",
                        "output_dimensions",
                        "function_calling",
                        "vision",
                        "price",
                    ]
                )
                | json_values,
                "value": property_values,
            },
        )
        | json_values,
        max_size=5,
    )
    | json_values
)
model_entries = (
    st.fixed_dictionaries(
        {"name": st.text(max_size=20) | json_values},
        optional={
            "id": json_values,
            "description": json_values,
            "task": st.fixed_dictionaries({}, optional={"name": json_values, "id": json_values})
            | json_values,
            "properties": odd_properties,
            "tags": json_values,
        },
    )
    | json_values
)


@PURE
@given(item=model_entries)
@example({"name": "m", "properties": 5})
@example({"name": "m", "properties": [{"property_id": "context_window", "value": "inf"}]})
@example({"name": "m", "properties": [{"property_id": "max_input_tokens", "value": 1e400}]})
def test_any_catalog_entry_parses_or_raises_our_error(item: Any) -> None:
    info = ours(parse_model_info, item)
    if isinstance(info, ModelInfo):
        for n in (info.context_window, info.max_input_tokens, info.output_dimensions):
            assert n is None or (type(n) is int and n != 0)
        assert isinstance(info.function_calling, bool) and isinstance(info.vision, bool)
        assert info.task is None or isinstance(info.task, str)


@PURE
@given(
    name=st.text(min_size=1),
    context=st.integers(1, 10**7),
    function_calling=st.booleans(),
    as_text=st.booleans(),
)
def test_catalog_entry_round_trip(
    name: str, context: int, function_calling: bool, as_text: bool
) -> None:
    item = {
        "id": "429b",
        "name": name,
        "task": {"id": "c329", "name": "Text Generation"},
        "properties": [
            {"property_id": "context_window", "value": str(context) if as_text else context},
            {"property_id": "function_calling", "value": str(function_calling).lower()},
            {"property_id": "price", "value": [{"unit": "per M", "price": 0.29}]},
        ],
    }
    info = parse_model_info(item)
    assert (info.name, info.id, info.task) == (name, "429b", "Text Generation")
    assert info.context_window == context and info.function_calling is function_calling
    assert info.properties["price"] == [{"unit": "per M", "price": 0.29}]


@E2E
@given(
    items=st.lists(model_entries, max_size=4),
    extra=st.fixed_dictionaries({}, optional={"success": json_values}),
)
def test_any_catalog_page_gives_models_or_our_error(
    items: list[Any], extra: dict[str, Any]
) -> None:
    body = _dump({"result": items, "errors": [], **extra})
    models = ours(_replying(200, body).models)
    if not isinstance(models, WorkersAIError):
        assert len(models) == len(items) and all(isinstance(m, ModelInfo) for m in models)


# -- (5) embeddings ---------------------------------------------------------------------------

vectors_odd = st.lists(st.lists(scalars, max_size=3) | json_values, max_size=3)
openai_items = st.fixed_dictionaries(
    {},
    optional={
        "embedding": st.lists(scalars, max_size=3) | json_values,
        "index": integers | json_values | strings,
    },
)
embedding_results = (
    st.fixed_dictionaries(
        {},
        optional={
            "shape": json_values,
            "data": vectors_odd | st.lists(openai_items | json_values, max_size=3) | json_values,
            "pooling": json_values,
            "usage": usages,
        },
    )
    | json_values
)


@PURE
@given(result=embedding_results)
@example({"data": [{"embedding": [1]}, 5]})
@example({"data": [[10**400]]})
@example({"data": [{"embedding": [1], "index": "inf"}, {"embedding": [2]}]})
@example({"data": ["12"]})
@example({"data": [{"embedding": {"1": 2}}]})
def test_any_embeddings_result_gives_float_vectors_or_our_error(result: Any) -> None:
    vectors = ours(parse_embeddings, result)
    if not isinstance(vectors, WorkersAIError):
        assert isinstance(vectors, list) and len(vectors) == len(result["data"])
        assert all(isinstance(v, list) and all(type(x) is float for x in v) for v in vectors)
        # every vector came from a list: not the characters of a string or an object's keys
        items = result["data"]
        sources = [i["embedding"] for i in items] if items and isinstance(items[0], dict) else items
        assert all(isinstance(v, list) for v in sources)


finite_floats = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6)


@PURE
@given(
    vectors=st.lists(st.lists(finite_floats, min_size=1, max_size=4), max_size=4),
    openai=st.booleans(),
    order=st.randoms(use_true_random=False),
)
def test_embeddings_round_trip(vectors: list[list[float]], openai: bool, order: Any) -> None:
    if openai:
        data: list[Any] = [
            {"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vectors)
        ]
        order.shuffle(data)
        result: dict[str, Any] = {"object": "list", "data": data}
    else:
        result = {"shape": [len(vectors), len(vectors[0]) if vectors else 0], "data": vectors}
    assert parse_embeddings(result) == [[float(x) for x in v] for v in vectors]


@E2E
@given(result=embedding_results, wrap=st.booleans())
def test_any_embeddings_answer_through_the_client(result: Any, wrap: bool) -> None:
    body = _dump({"result": result, "success": True, "errors": []} if wrap else result)
    embedded = ours(_replying(200, body).embed, "@cf/baai/bge-base-en-v1.5", ["a", "b"])
    if not isinstance(embedded, WorkersAIError):
        assert len(embedded.vectors) == 2


# -- bodies that once broke errors.py and client.py ------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "Infinity", "1e400"])
def test_retry_after_is_finite(value: str) -> None:
    error = error_from_response(429, b"{}", {"retry-after": value})
    assert error.retry_after is None or math.isfinite(error.retry_after)


@pytest.mark.parametrize("code", ["²", "⑴", "9" * 4301])
def test_an_unreadable_string_code_is_no_code(code: str) -> None:
    error = ours(error_from_response, 400, _dump({"errors": [{"code": code, "message": "m"}]}), {})
    assert isinstance(error, APIStatusError) and error.code is None


@pytest.mark.parametrize(
    "message",
    [
        "tokens (1) exceeded this model context window limit (" + "9" * 4301 + ")",
        "tokens (" + "9" * 4301 + ") exceeded this model context window limit (24000)",
    ],
)
def test_a_context_window_message_with_huge_numbers(message: str) -> None:
    body = _dump({"errors": [{"code": 3010, "message": message}]})
    assert isinstance(ours(error_from_response, 400, body, {}), APIStatusError)


def test_an_error_body_nested_too_deep() -> None:
    assert isinstance(ours(error_from_response, 500, b"[" * 100_000, {}), APIStatusError)


def test_a_200_body_nested_too_deep() -> None:
    result = ours(_replying(200, b'{"result":' + b"[" * 100_000).chat, MODEL, prompt="hi")
    assert isinstance(result, UnexpectedResponseError)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>maintenance</html>",
        b'{"success": true, "result": [], "result_info": {"page": "x", "total_count": 3}}',
        b'{"success": true, "result": [], "result_info": {"page": [1], "total_count": 3}}',
        b'{"success": true, "result": [], "result_info": {"per_page": 1e400, "total_count": 3}}',
        b'{"success": true, "result": [], "result_info": {"total_count": "many"}}',
        b'{"success": true, "result": [], "result_info": {"total_count": {}}}',
    ],
)
def test_an_odd_catalog_page(body: bytes) -> None:
    assert isinstance(ours(_replying(200, body).models), list | WorkersAIError)
