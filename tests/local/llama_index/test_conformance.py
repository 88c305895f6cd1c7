"""WorkersAI and WorkersAIEmbedding through the LlamaIndex conformance suite, on the local server
(every chat test runs once per result family)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import pytest

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI
from tests.local.llama_index.conftest import local_embedding, local_llm
from tests.standard.llama_index.conformance import EmbeddingConformance, LLMConformance
from workers_ai import WorkersAIError

if TYPE_CHECKING:
    from workers_ai_local import LocalServer


class TestWorkersAIConformance(LLMConformance):
    expected_error: ClassVar[type[BaseException]] = WorkersAIError

    @pytest.fixture
    def llm_factory(self, make_llm: Callable[..., WorkersAI]) -> Callable[..., WorkersAI]:
        return make_llm

    @pytest.fixture
    def failing_llm_factory(self, server: LocalServer, chat_model: str) -> Callable[..., WorkersAI]:
        return lambda **overrides: local_llm(
            server, model=chat_model, api_token="not-the-token", **overrides
        )

    @pytest.fixture
    def secrets(self, server: LocalServer) -> list[str]:
        return [server.token]


class TestWorkersAIEmbeddingConformance(EmbeddingConformance):
    expected_error: ClassVar[type[BaseException]] = WorkersAIError

    @pytest.fixture
    def embedding_factory(
        self, make_embedding: Callable[..., WorkersAIEmbedding]
    ) -> Callable[..., WorkersAIEmbedding]:
        return make_embedding

    @pytest.fixture
    def failing_embedding_factory(self, server: LocalServer) -> Callable[..., WorkersAIEmbedding]:
        return lambda **overrides: local_embedding(server, api_token="not-the-token", **overrides)

    @pytest.fixture
    def secrets(self, server: LocalServer) -> list[str]:
        return [server.token]
