"""WorkersAI's metadata.context_window, and LlamaIndex memories trimming a conversation to a token
limit derived from it, counted with the dependency-free estimate (no tiktoken)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW
from llama_index.core.memory import ChatMemoryBuffer, ChatSummaryMemoryBuffer, Memory

from llama_index.llms.workers_ai import _metadata
from tests.local.llama_index.conftest import local_llm
from workers_ai import model_spec
from workers_ai._catalog import catalog
from workers_ai._tokens import estimate_prompt_tokens, token_pieces
from workers_ai_local import LocalServer

CHAT_MODELS = sorted(
    spec.name
    for spec in catalog()
    if spec.task == "Text Generation" and spec.context_window is not None and not spec.retired()
)
NEWER_MODEL = "@cf/meta/llama-3.2-3b-instruct"  # stands for a model newer than the package's data
LEGACY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


def data_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/ai/run/" in r["path"]]


def catalog_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/ai/models/search" in r["path"]]


def history(turns: int, words: int = 40) -> list[ChatMessage]:
    messages = []
    for i in range(turns):
        messages.append(ChatMessage(role=MessageRole.USER, content=f"Q{i} " + "why so " * words))
        messages.append(
            ChatMessage(role=MessageRole.ASSISTANT, content=f"A{i} " + "because " * words)
        )
    return messages


def count_tokens(text: str) -> int:
    return len(token_pieces(text))


# -- metadata.context_window ----------------------------------------------------------------------


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_known_models_have_their_context_window_without_a_request(
    server: LocalServer, model: str
) -> None:
    llm = local_llm(server, model=model)
    spec = model_spec(model)
    assert spec is not None
    assert llm.metadata.context_window == spec.context_window
    assert llm.metadata.model_name == model
    assert server.requests() == []


def test_a_model_the_package_does_not_know_reads_the_catalog_once(
    server: LocalServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In the account's catalog, but without a context window there: LlamaIndex's default, with
    # a warning only when the catalog cannot be read.
    monkeypatch.setattr(_metadata, "model_spec", lambda name: None)
    llm = local_llm(server, model=NEWER_MODEL)
    with caplog.at_level(logging.WARNING):
        assert llm.metadata.context_window == DEFAULT_CONTEXT_WINDOW
        assert llm.metadata.context_window == DEFAULT_CONTEXT_WINDOW
    assert len(catalog_requests(server)) == 1
    assert not [r for r in caplog.records if r.name.startswith("llama_index.llms.workers_ai")]


def test_context_window_and_max_tokens_overrides(server: LocalServer) -> None:
    llm = local_llm(server, model=LEGACY, context_window=4096, max_tokens=300)
    assert llm.metadata.context_window == 4096
    assert llm.metadata.num_output == 300
    assert server.requests() == []


# -- memories sized from the context window --------------------------------------------------------


def test_chat_memory_buffer_defaults_to_three_quarters_of_the_window(server: LocalServer) -> None:
    llm = local_llm(server, model="@cf/meta/llama-3.1-8b-instruct-fp8")
    memory = ChatMemoryBuffer.from_defaults(llm=llm, tokenizer_fn=token_pieces)
    assert memory.token_limit == int(32000 * 0.75)


@pytest.mark.parametrize("token_limit", [300, 600, 2000])
def test_chat_memory_buffer_trims_to_the_limit(server: LocalServer, token_limit: int) -> None:
    llm = local_llm(server, model=LEGACY)
    memory = ChatMemoryBuffer.from_defaults(
        llm=llm, token_limit=token_limit, tokenizer_fn=token_pieces, chat_history=history(30)
    )
    kept = memory.get()
    assert 0 < len(kept) < 60
    assert kept[0].role == MessageRole.USER
    assert count_tokens(" ".join(str(m.content) for m in kept)) <= token_limit
    llm.chat(kept)  # and the server takes what is left
    assert len(data_requests(server)) == 1


def test_memory_buffer_from_the_window_keeps_the_request_under_it(server: LocalServer) -> None:
    llm = local_llm(server, model=LEGACY, context_window=2048, max_tokens=256)
    window = llm.metadata.context_window - llm.metadata.num_output
    memory = ChatMemoryBuffer.from_defaults(
        llm=llm, token_limit=window // 2, tokenizer_fn=token_pieces, chat_history=history(40)
    )
    kept = memory.get()
    response = llm.chat(kept)
    sent = data_requests(server)[0]["body"]["messages"]
    assert estimate_prompt_tokens(sent) <= window
    assert response.raw["usage"]["prompt_tokens"] <= estimate_prompt_tokens(sent)


def test_chat_summary_memory_buffer_summarizes_with_workers_ai(server: LocalServer) -> None:
    llm = local_llm(server, model=LEGACY)
    memory = ChatSummaryMemoryBuffer.from_defaults(
        llm=llm, token_limit=200, tokenizer_fn=token_pieces, chat_history=history(10)
    )
    kept = memory.get()
    assert kept[0].role == MessageRole.SYSTEM  # the summary of what did not fit
    assert kept[0].content
    assert len(data_requests(server)) == 1  # one summarizing call to Workers AI
    assert len(kept) < 20


async def test_memory_trims_its_chat_history(server: LocalServer) -> None:
    llm = local_llm(server, model=LEGACY)
    token_limit = llm.metadata.context_window // 40
    memory = Memory.from_defaults(
        session_id="context-window-test",
        token_limit=token_limit,
        tokenizer_fn=token_pieces,
        async_database_uri="sqlite+aiosqlite:///:memory:",
    )
    for message in history(30):
        await memory.aput(message)
    kept = await memory.aget()
    assert 0 < len(kept) < 60
    assert sum(count_tokens(str(m.content)) for m in kept) <= token_limit
    response = await llm.achat(kept)
    assert response.message.content
