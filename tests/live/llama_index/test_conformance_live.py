"""WorkersAI and WorkersAIEmbedding through the conformance suite against real Cloudflare.

Skipped without credentials, and built from ``cloudflare.connection()`` (tests/live/conftest.py),
so they reach Cloudflare's API whatever WORKERS_AI_BASE_URL or the AI Gateway variables say.
Uses the default models; no xfails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI
from tests.live.conftest import Cloudflare
from tests.standard.llama_index.conformance import EmbeddingConformance, LLMConformance
from workers_ai import WorkersAIError

WRONG_TOKEN = "not-a-valid-token"


class TestWorkersAILive(LLMConformance):
    expected_error: ClassVar[type[BaseException]] = WorkersAIError

    @pytest.fixture
    def llm_factory(self, cloudflare: Cloudflare) -> Callable[..., WorkersAI]:
        return lambda **overrides: WorkersAI(
            **{"temperature": 0.0, **cloudflare.connection(), **overrides}
        )

    @pytest.fixture
    def failing_llm_factory(self, cloudflare: Cloudflare) -> Callable[..., WorkersAI]:
        return lambda **overrides: WorkersAI(
            **{**cloudflare.connection(), "api_token": WRONG_TOKEN, **overrides}
        )

    @pytest.fixture
    def secrets(self, cloudflare: Cloudflare) -> list[str]:
        return [cloudflare.api_token]


class TestWorkersAIEmbeddingLive(EmbeddingConformance):
    expected_error: ClassVar[type[BaseException]] = WorkersAIError

    @pytest.fixture
    def embedding_factory(self, cloudflare: Cloudflare) -> Callable[..., WorkersAIEmbedding]:
        return lambda **overrides: WorkersAIEmbedding(**{**cloudflare.connection(), **overrides})

    @pytest.fixture
    def failing_embedding_factory(
        self, cloudflare: Cloudflare
    ) -> Callable[..., WorkersAIEmbedding]:
        def make(**overrides: Any) -> WorkersAIEmbedding:
            return WorkersAIEmbedding(
                **{**cloudflare.connection(), "api_token": WRONG_TOKEN, **overrides}
            )

        return make

    @pytest.fixture
    def secrets(self, cloudflare: Cloudflare) -> list[str]:
        return [cloudflare.api_token]
