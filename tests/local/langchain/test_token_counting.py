"""ChatWorkersAI counts tokens without a tokenizer download, on the high side of what the server
counts, so ``trim_messages(..., token_counter=llm)`` keeps a conversation inside a budget."""

from __future__ import annotations

import builtins
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.tools import tool

from langchain_workers_ai import ChatWorkersAI
from tests.local.langchain.images import PNG_1X1_B64
from tests.unit.core.test_tokens import VARIED_TEXTS
from workers_ai import model_spec
from workers_ai._tokens import IMAGE_TOKENS, estimate_text_tokens
from workers_ai_local import LocalServer

LEGACY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


def data_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/ai/run/" in r["path"]]


def conversation(turns: int, words: int = 30) -> list[BaseMessage]:
    messages: list[BaseMessage] = [SystemMessage("You are a terse assistant.")]
    for i in range(turns):
        messages.append(HumanMessage(f"Question {i}: " + "tell me more " * words))
        messages.append(AIMessage(f"Answer {i}: " + "here is more " * words))
    messages.append(HumanMessage("And finally?"))
    return messages


@pytest.fixture
def no_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    """LangChain's default counter imports transformers (and downloads GPT-2); ours must not."""
    real_import = builtins.__import__

    def guarded(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in ("transformers", "tiktoken"):
            raise AssertionError(f"token counting imported {name}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded)


@pytest.mark.usefixtures("no_transformers")
def test_counting_needs_no_tokenizer_and_no_request(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=LEGACY)
    assert llm.get_num_tokens("Hello, world!") == estimate_text_tokens("Hello, world!") == 4
    assert llm.get_num_tokens_from_messages(conversation(3)) > 0
    assert data_requests(server) == []


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
@pytest.mark.parametrize("kind", sorted(VARIED_TEXTS))
def test_the_estimate_is_at_least_the_servers_prompt_count(
    server: LocalServer, model: str, kind: str
) -> None:
    llm = ChatWorkersAI(model=model)
    messages: list[BaseMessage] = [
        SystemMessage("Answer briefly."),
        HumanMessage(VARIED_TEXTS[kind]),
        AIMessage("Noted."),
        HumanMessage(VARIED_TEXTS[kind][::-1]),
    ]
    answer = llm.invoke(messages)
    assert answer.usage_metadata is not None
    assert llm.get_num_tokens_from_messages(messages) >= answer.usage_metadata["input_tokens"]


def test_images_tool_calls_and_tool_schemas_are_counted() -> None:
    llm = ChatWorkersAI(model="@cf/meta/llama-4-scout-17b-16e-instruct")
    text_only = [HumanMessage("Describe this.")]
    with_image = [
        HumanMessage(
            [
                {"type": "text", "text": "Describe this."},
                {"type": "image", "base64": PNG_1X1_B64, "mime_type": "image/png"},
            ]
        )
    ]
    assert llm.get_num_tokens_from_messages(
        with_image
    ) == IMAGE_TOKENS + llm.get_num_tokens_from_messages(text_only)

    asked = [HumanMessage("Weather in Paris?")]
    called = [
        *asked,
        AIMessage("", tool_calls=[{"id": "c1", "name": "get_weather", "args": {"city": "Paris"}}]),
        ToolMessage("Sunny in Paris", tool_call_id="c1"),
    ]
    assert llm.get_num_tokens_from_messages(called) > llm.get_num_tokens_from_messages(asked)
    assert llm.get_num_tokens_from_messages(
        asked, tools=[get_weather]
    ) > llm.get_num_tokens_from_messages(asked) + estimate_text_tokens("get_weather")


def test_custom_get_token_ids_wins() -> None:
    llm = ChatWorkersAI(model=LEGACY, custom_get_token_ids=lambda text: [0] * len(text))
    assert llm.get_num_tokens("abcdef") == 6
    assert llm.get_num_tokens_from_messages([HumanMessage("abcdef")]) >= 6


# -- trim_messages --------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [80, 200, 500, 1000])
def test_trim_messages_fits_a_budget_and_the_request_stays_under_it(
    server: LocalServer, budget: int
) -> None:
    llm = ChatWorkersAI(model=LEGACY)
    history = conversation(turns=12)
    assert llm.get_num_tokens_from_messages(history) > 1000
    trimmed = trim_messages(
        history,
        max_tokens=budget,
        token_counter=llm,
        strategy="last",
        include_system=True,
        start_on="human",
    )
    assert trimmed[0] == history[0]  # the system message is kept
    assert trimmed[-1] == history[-1]
    assert llm.get_num_tokens_from_messages(trimmed) <= budget
    answer = llm.invoke(trimmed)
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] <= budget
    assert len(data_requests(server)) == 1


def test_trim_to_a_models_context_window_leaving_room_for_the_answer() -> None:
    model = "@cf/meta/llama-3.1-8b-instruct-fp8"
    spec = model_spec(model)
    assert spec is not None and spec.context_window is not None
    window = spec.context_window
    llm = ChatWorkersAI(model=model, max_tokens=512)
    history = conversation(turns=400)
    assert llm.get_num_tokens_from_messages(history) > window
    trimmed = trim_messages(
        history,
        max_tokens=window - 512,
        token_counter=llm,
        strategy="last",
        include_system=True,
        start_on="human",
    )
    assert 3 < len(trimmed) < len(history)
    assert llm.get_num_tokens_from_messages(trimmed) <= window - 512


def test_trim_messages_in_a_chain(server: LocalServer) -> None:
    llm = ChatWorkersAI(model=LEGACY)
    trimmer = trim_messages(
        max_tokens=120, token_counter=llm, strategy="last", include_system=True, start_on="human"
    )
    answer = (trimmer | llm).invoke(conversation(turns=10))
    assert answer.content == "Echo: And finally?"
    sent = data_requests(server)[0]["body"]["messages"]
    assert sent[0]["role"] == "system"
    assert len(sent) < 22


def test_the_profile_names_a_known_models_context_window() -> None:
    known = ChatWorkersAI(model="@cf/meta/llama-4-scout-17b-16e-instruct")
    assert known.profile is not None
    assert known.profile["max_input_tokens"] == 131000
    assert known.profile["image_inputs"] is True and known.profile["tool_calling"] is True
    assert ChatWorkersAI(model="@cf/some/unknown-model").profile is None
