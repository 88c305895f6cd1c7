"""WorkersAI and WorkersAIEmbedding through the conformance suite against real Cloudflare.

Skipped unless CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (or CF_ACCOUNT_ID / CF_API_TOKEN)
are set. WORKERS_AI_BASE_URL and WORKERS_AI_GATEWAY_ID are ignored, so a shell set up for the
local server still reaches Cloudflare. Uses the default models; no xfails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI
from tests.standard.llama_index.conformance import EmbeddingConformance, LLMConformance
from workers_ai import WorkersAIError

TOKEN = os.environ.get("CLOUDFLARE_API_TOKEN") or os.environ.get("CF_API_TOKEN")
ACCOUNT = os.environ.get("CLOUDFLARE_ACCOUNT_ID") or os.environ.get("CF_ACCOUNT_ID")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (TOKEN and ACCOUNT), reason="needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"
    ),
]


@pytest.fixture(autouse=True)
def _cloudflare_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("WORKERS_AI_BASE_URL", raising=False)
    monkeypatch.delenv("WORKERS_AI_GATEWAY_ID", raising=False)
    yield


def live_secrets() -> list[str]:
    return [TOKEN] if TOKEN else []


class TestWorkersAILive(LLMConformance):
    expected_error: ClassVar[type[BaseException]] = WorkersAIError

    @pytest.fixture
    def llm_factory(self) -> Callable[..., WorkersAI]:
        return lambda **overrides: WorkersAI(**{"temperature": 0.0, **overrides})

    @pytest.fixture
    def failing_llm_factory(self) -> Callable[..., WorkersAI]:
        return lambda **overrides: WorkersAI(api_token="not-a-valid-token", **overrides)

    @pytest.fixture
    def secrets(self) -> list[str]:
        return live_secrets()


class TestWorkersAIEmbeddingLive(EmbeddingConformance):
    expected_error: ClassVar[type[BaseException]] = WorkersAIError

    @pytest.fixture
    def embedding_factory(self) -> Callable[..., WorkersAIEmbedding]:
        return lambda **overrides: WorkersAIEmbedding(**overrides)

    @pytest.fixture
    def failing_embedding_factory(self) -> Callable[..., WorkersAIEmbedding]:
        def make(**overrides: Any) -> WorkersAIEmbedding:
            return WorkersAIEmbedding(api_token="not-a-valid-token", **overrides)

        return make

    @pytest.fixture
    def secrets(self) -> list[str]:
        return live_secrets()
