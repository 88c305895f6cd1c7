"""langchain-tests integration suites against real Cloudflare Workers AI.

Skipped unless CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (or CF_ACCOUNT_ID / CF_API_TOKEN)
are set. WORKERS_AI_BASE_URL and WORKERS_AI_GATEWAY_ID are ignored here, so a shell set up for
the local server still reaches Cloudflare. No xfails: a real model can do everything declared.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings

HAVE_CREDENTIALS = any(
    os.environ.get(n) for n in ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID")
) and any(os.environ.get(n) for n in ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"))

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not HAVE_CREDENTIALS, reason="needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"
    ),
]


@pytest.fixture(autouse=True)
def _cloudflare_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("WORKERS_AI_BASE_URL", raising=False)
    monkeypatch.delenv("WORKERS_AI_GATEWAY_ID", raising=False)
    yield


class _LiveChatSuite(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatWorkersAI]:
        return ChatWorkersAI

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestLiveLegacyFamily(_LiveChatSuite):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "max_tokens": 512}

    @property
    def model_override_value(self) -> str:
        return "@cf/meta/llama-3.1-8b-instruct-fast"


class TestLiveOpenAIFamily(_LiveChatSuite):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/qwen/qwen3-30b-a3b-fp8", "max_tokens": 2048}

    @property
    def model_override_value(self) -> str:
        return "@cf/openai/gpt-oss-20b"


class TestLiveEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[WorkersAIEmbeddings]:
        return WorkersAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/baai/bge-small-en-v1.5"}
