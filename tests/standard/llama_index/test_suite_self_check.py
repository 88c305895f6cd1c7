"""The conformance suite is not tied to Workers AI, and it catches what it claims to.

Run without I/O over LlamaIndex's own building blocks: ``MockEmbedding`` passes the embedding
suite, and a typical ``CustomLLM`` passes for ``complete`` and ``stream_complete`` but is caught
counting every other call twice (its ``chat``, ``achat``, ``acomplete``, ... call the decorated
sync completion methods).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from llama_index.core.base.llms.types import (
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.custom import CustomLLM

from tests.standard.llama_index.conformance import (
    CHAT_METHODS,
    EmbeddingConformance,
    LLMConformance,
)


class BrokenEmbedding(MockEmbedding):
    def _get_text_embedding(self, text: str) -> list[float]:
        raise RuntimeError("the embedding service is down")

    _get_query_embedding = _get_text_embedding

    async def _aget_text_embedding(self, text: str) -> list[float]:
        raise RuntimeError("the embedding service is down")

    _aget_query_embedding = _aget_text_embedding


class TestMockEmbeddingPassesTheSuite(EmbeddingConformance):
    expected_error: ClassVar[type[BaseException]] = RuntimeError
    vectors_reflect_meaning: ClassVar[bool] = False  # every MockEmbedding vector is the same

    @pytest.fixture
    def embedding_factory(self) -> Callable[..., MockEmbedding]:
        return lambda **overrides: MockEmbedding(embed_dim=8, model_name="mock-8", **overrides)

    @pytest.fixture
    def failing_embedding_factory(self) -> Callable[..., MockEmbedding]:
        return lambda **overrides: BrokenEmbedding(embed_dim=8, model_name="broken", **overrides)

    @pytest.fixture
    def secrets(self) -> list[str]:
        return []


def _usage(prompt: str, text: str) -> dict[str, Any]:
    counts = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
    return {"usage": {**counts, "total_tokens": sum(counts.values())}}


class WordEcho(CustomLLM):
    """Echoes the prompt and reports usage in words, as a CustomLLM would."""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="word-echo", is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        text = f"Echo: {prompt}"
        return CompletionResponse(text=text, raw=_usage(prompt, text))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        text = f"Echo: {prompt}"

        def gen() -> CompletionResponseGen:
            yield CompletionResponse(text=text, delta=text, raw={})
            yield CompletionResponse(text=text, delta="", raw=_usage(prompt, text))

        return gen()


SUITE = LLMConformance()


def word_echo(**overrides: Any) -> WordEcho:
    return WordEcho(**overrides)


@pytest.mark.parametrize("method", ["complete", "stream_complete"])
async def test_undecorated_completion_passes(method: str) -> None:
    await SUITE.test_one_callback_event_per_call(word_echo, method, secrets=[])
    await SUITE.test_token_counting_counts_each_call_once(word_echo, method)


@pytest.mark.parametrize("method", [*CHAT_METHODS, "acomplete", "astream_complete"])
async def test_calls_through_decorated_complete_are_caught(method: str) -> None:
    with pytest.raises(AssertionError):
        await SUITE.test_one_callback_event_per_call(word_echo, method, secrets=[])
