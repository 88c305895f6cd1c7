"""The local server's Responses API held to the official OpenAI SDK (its typed models and its
stream helper, which insists on ``response.completed``): ``/ai/v1/responses``, whole and
streamed, with reasoning, function calls, structured output and usage; and gpt-oss on
``/ai/run`` in the same shape."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from workers_ai_local import LocalServer

openai = pytest.importorskip("openai")

GPT = "@cf/openai/gpt-oss-120b"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def sdk(server: LocalServer) -> Iterator[object]:
    client = openai.OpenAI(
        api_key=server.token,
        base_url=f"{server.base_url}/accounts/{server.account_id}/ai/v1",
        max_retries=0,
    )
    yield client
    client.close()


def test_a_whole_response(sdk: object) -> None:
    response = sdk.responses.create(  # type: ignore[attr-defined]
        model=GPT, input="Name a sea", reasoning={"effort": "low"}
    )
    assert isinstance(response, openai.types.responses.Response)
    assert response.output_text == "Echo: Name a sea"
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and message.type == "message"
    assert reasoning.content[0].text == "Thinking (low effort) about: Name a sea"
    assert response.status == "completed"
    assert response.usage.input_tokens == 3
    assert response.usage.output_tokens == 4 + 7  # the answer's words and the reasoning's
    assert response.usage.output_tokens_details.reasoning_tokens == 7


def test_a_streamed_response_with_the_sdk_helper(sdk: object) -> None:
    with sdk.responses.stream(model=GPT, input="Count to three") as stream:  # type: ignore[attr-defined]
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.reasoning_text.delta" in kinds and "response.output_text.delta" in kinds
    assert final.output_text == "Echo: Count to three"
    assert final.usage is not None and final.usage.total_tokens > 0


def test_function_calls_and_their_results(sdk: object) -> None:
    first = sdk.responses.create(  # type: ignore[attr-defined]
        model=GPT, input="Weather in Paris?", tools=[WEATHER], tool_choice="required"
    )
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {
        "city": "Weather in Paris?"
    }
    second = sdk.responses.create(  # type: ignore[attr-defined]
        model=GPT,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
        tools=[WEATHER],
    )
    assert second.output_text == "Echo: get_weather returned sunny"


def test_streamed_function_call_arguments(sdk: object) -> None:
    with sdk.responses.stream(  # type: ignore[attr-defined]
        model=GPT, input="Weather in Paris?", tools=[WEATHER], tool_choice="required"
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    call = next(item for item in final.output if item.type == "function_call")
    assert "".join(deltas) == call.arguments


def test_structured_output(sdk: object) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    response = sdk.responses.create(  # type: ignore[attr-defined]
        model=GPT,
        input="Ada Lovelace",
        text={"format": {"type": "json_schema", "name": "person", "schema": schema}},
    )
    assert json.loads(response.output_text) == {"name": "Ada Lovelace"}


def test_max_output_tokens_makes_it_incomplete(sdk: object) -> None:
    response = sdk.responses.create(  # type: ignore[attr-defined]
        model=GPT, input="one two three four five", max_output_tokens=3
    )
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"


def test_a_paid_model_is_refused_with_cloudflares_error(sdk: object) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk.responses.create(model="@cf/moonshotai/kimi-k2.6", input="x")  # type: ignore[attr-defined]
    assert caught.value.status_code == 403
    assert caught.value.body["errors"][0]["code"] == 5035


def test_gpt_oss_on_run_answers_the_responses_shape(
    http: httpx.Client, server: LocalServer
) -> None:
    path = f"/client/v4/accounts/{server.account_id}/ai/run/{GPT}"
    result = http.post(path, json={"input": "hi", "reasoning": {"effort": "high"}}).json()["result"]
    parsed = openai.types.responses.Response.construct(**result)  # as the SDK reads answers
    assert parsed.output_text == "Echo: hi"
    assert [item.type for item in parsed.output] == ["reasoning", "message"]
    with http.stream("POST", path, json={"input": "hi", "stream": True}) as response:
        text = "".join(response.iter_text())
    frames = [f for f in text.split("\n\n") if f]
    assert frames[0].startswith("event: response.created\ndata: ")
    assert frames[-1] == "data: [DONE]"  # /ai/run streams end the way every /ai/run stream does
    # Given chat messages, gpt-oss answers as a chat completion (as Cloudflare's does).
    chat = http.post(path, json={"messages": [{"role": "user", "content": "hi"}]}).json()
    assert chat["result"]["object"] == "chat.completion"


def test_the_responses_stream_has_no_done_on_v1(http: httpx.Client, server: LocalServer) -> None:
    path = f"/client/v4/accounts/{server.account_id}/ai/v1/responses"
    with http.stream("POST", path, json={"model": GPT, "input": "hi", "stream": True}) as response:
        frames = [f for f in "".join(response.iter_text()).split("\n\n") if f]
    assert frames[-1].startswith("event: response.completed\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": GPT}, "required properties at '/' are 'input'"),
        ({"model": GPT, "input": []}, "Array at '/input' must have at least 1 item"),
        ({"model": GPT, "input": "x", "reasoning": {"effort": "max"}}, "must be one of 'low'"),
        (
            {"model": GPT, "input": [{"type": "function_call", "name": "f", "arguments": "{"}]},
            "'/input/0/arguments' must be valid JSON",
        ),
        (
            {"model": GPT, "input": "x", "text": {"format": {"type": "xml"}}},
            "Value at '/text/format/type' must be one of 'text', 'json_object', 'json_schema'",
        ),
        ({"model": GPT, "input": "x", "text": {"format": []}}, "'/text/format'"),
        (
            {"model": GPT, "input": "x", "text": {"format": {"type": "json_schema"}}},
            "required properties at '/text/format' are 'type', 'name', 'schema'",
        ),
    ],
)
def test_bad_responses_requests_are_5006(
    http: httpx.Client, server: LocalServer, body: dict[str, object], message: str
) -> None:
    path = f"/client/v4/accounts/{server.account_id}/ai/v1/responses"
    response = http.post(path, json=body)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == 5006 and message in error["message"]
