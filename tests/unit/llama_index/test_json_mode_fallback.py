"""A model that refuses JSON mode is asked again with a forced tool (or, without tools, for text).

The local server takes JSON mode for every model, so a mock transport stands in for Cloudflare's
400 here.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType
from llama_index.core.prompts import PromptTemplate

from llama_index.llms.workers_ai import WorkersAI
from tests.standard.llama_index.conformance import CallbackRecorder, CityFact
from workers_ai import BadRequestError

PROMPT = PromptTemplate("Name a city founded in {year}.")
FACT = {"city": "Albany", "year": 1624}
REFUSAL = {"success": False, "errors": [{"code": 5006, "message": "JSON Mode couldn't be met"}]}


class FakeCloudflare:
    """Refuses response_format (or ignores it, answering in prose); answers a forced tool with
    the fact, anything else with the fact as JSON text."""

    def __init__(self, ignore_json_mode: bool = False) -> None:
        self.ignore_json_mode = ignore_json_mode
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if "response_format" in body and self.ignore_json_mode:
            result = {"response": "Albany was founded in 1624."}
            return httpx.Response(200, json={"success": True, "errors": [], "result": result})
        if "response_format" in body:
            return httpx.Response(400, json=REFUSAL)
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            result = {"response": "", "tool_calls": [{"name": name, "arguments": FACT}]}
        else:
            result = {"response": json.dumps(FACT)}
        return httpx.Response(200, json={"success": True, "errors": [], "result": result})

    def kinds(self) -> list[str]:
        return [
            "json_mode" if "response_format" in b else "tool" if b.get("tools") else "text"
            for b in self.bodies
        ]


def llm_for(fake: FakeCloudflare, model: str, **fields: Any) -> WorkersAI:
    transport = httpx.MockTransport(fake)
    return WorkersAI(
        model=model,
        account_id="acct",
        api_token="token",
        max_retries=0,
        http_client=httpx.Client(transport=transport),
        async_http_client=httpx.AsyncClient(transport=transport),
        **fields,
    )


TOOL_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
TEXT_MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8"  # cannot call tools


@pytest.mark.parametrize(("model", "second"), [(TOOL_MODEL, "tool"), (TEXT_MODEL, "text")])
def test_structured_predict_falls_back(model: str, second: str) -> None:
    fake = FakeCloudflare()
    recorder = CallbackRecorder()
    llm = llm_for(fake, model, callback_manager=CallbackManager([recorder]))
    assert llm.structured_predict(CityFact, PROMPT, year="1624") == CityFact(**FACT)
    assert fake.kinds() == ["json_mode", second]
    ends = recorder.of(CBEventType.LLM, "end")
    assert len(ends) == 2  # the refused call is reported as failed, the retry as answered


@pytest.mark.parametrize(("model", "second"), [(TOOL_MODEL, "tool"), (TEXT_MODEL, "text")])
async def test_astructured_predict_falls_back(model: str, second: str) -> None:
    fake = FakeCloudflare()
    fact = await llm_for(fake, model).astructured_predict(CityFact, PROMPT, year="1624")
    assert fact == CityFact(**FACT)
    assert fake.kinds() == ["json_mode", second]


@pytest.mark.parametrize("ignore", [False, True], ids=["refused", "ignored"])
def test_stream_structured_predict_falls_back_to_a_forced_tool(ignore: bool) -> None:
    fake = FakeCloudflare(ignore_json_mode=ignore)
    partials = list(llm_for(fake, TOOL_MODEL).stream_structured_predict(CityFact, PROMPT, year=1))
    assert partials[-1] == CityFact(**FACT)
    assert fake.kinds() == ["json_mode", "tool"]


@pytest.mark.parametrize("ignore", [False, True], ids=["refused", "ignored"])
async def test_astream_structured_predict_falls_back_to_a_forced_tool(ignore: bool) -> None:
    fake = FakeCloudflare(ignore_json_mode=ignore)
    llm = llm_for(fake, TOOL_MODEL)
    partials = [p async for p in await llm.astream_structured_predict(CityFact, PROMPT, year=1)]
    assert partials[-1] == CityFact(**FACT)
    assert fake.kinds() == ["json_mode", "tool"]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_ignored_json_mode_falls_back(use_async: bool) -> None:
    fake = FakeCloudflare(ignore_json_mode=True)
    llm = llm_for(fake, TOOL_MODEL)
    if use_async:
        fact = await llm.astructured_predict(CityFact, PROMPT, year="1624")
    else:
        fact = llm.structured_predict(CityFact, PROMPT, year="1624")
    assert fact == CityFact(**FACT)
    assert fake.kinds() == ["json_mode", "tool"]


def test_json_that_does_not_fit_is_an_error_not_a_retry() -> None:
    def wrong_shape(request: httpx.Request) -> httpx.Response:
        result = {"response": {"city": "Albany"}}  # JSON mode answered, but year is missing
        return httpx.Response(200, json={"success": True, "errors": [], "result": result})

    llm = WorkersAI(
        account_id="a",
        api_token="t",
        http_client=httpx.Client(transport=httpx.MockTransport(wrong_shape)),
    )
    with pytest.raises(ValueError, match="not a valid CityFact"):
        llm.structured_predict(CityFact, PROMPT, year="1624")


def test_other_errors_are_not_swallowed() -> None:
    def unavailable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"success": False, "errors": [{"code": 1, "message": "x"}]})

    llm = WorkersAI(
        account_id="a",
        api_token="t",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(unavailable)),
    )
    with pytest.raises(Exception, match="503") as caught:
        llm.structured_predict(CityFact, PROMPT, year="1624")
    assert not isinstance(caught.value, BadRequestError)
