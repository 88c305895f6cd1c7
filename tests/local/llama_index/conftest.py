"""Factories for WorkersAI and WorkersAIEmbedding pointed at the local server."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI

if TYPE_CHECKING:
    from workers_ai_local import LocalServer

# One model per result shape the server answers in (legacy ``response``, llama-4 "scout", an
# OpenAI ``chat.completion`` inside ``result``, the Responses API's ``output`` items), and a
# reasoning model with a thinking switch (qwen3 and gpt-oss reason too, always).
FAMILY_MODELS = {
    "legacy": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "scout": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "openai": "@cf/qwen/qwen3-30b-a3b-fp8",
    "responses": "@cf/openai/gpt-oss-120b",
    "reasoning": "@cf/zai-org/glm-4.7-flash",
}


# Embedding models with different dimensions and per-request limits (100 and 32 texts).
EMBEDDING_MODELS = ("@cf/baai/bge-base-en-v1.5", "@cf/qwen/qwen3-embedding-0.6b")


@pytest.fixture(params=sorted(FAMILY_MODELS), ids=lambda family: f"family={family}")
def chat_model(request: pytest.FixtureRequest) -> str:
    return FAMILY_MODELS[request.param]


@pytest.fixture(params=EMBEDDING_MODELS, ids=lambda model: model.rsplit("/", 1)[-1])
def embedding_model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def local_llm(server: LocalServer, **overrides: Any) -> WorkersAI:
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "account_id": server.account_id,
        "api_token": server.token,
        "max_retries": 0,
    }
    return WorkersAI(**{**settings, **overrides})


def local_embedding(server: LocalServer, **overrides: Any) -> WorkersAIEmbedding:
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "account_id": server.account_id,
        "api_token": server.token,
        "max_retries": 0,
    }
    return WorkersAIEmbedding(**{**settings, **overrides})


@pytest.fixture
def make_llm(server: LocalServer, chat_model: str) -> Callable[..., WorkersAI]:
    return lambda **overrides: local_llm(server, **{"model": chat_model, **overrides})


@pytest.fixture
def make_embedding(server: LocalServer, embedding_model: str) -> Callable[..., WorkersAIEmbedding]:
    return lambda **overrides: local_embedding(
        server, **{"model_name": embedding_model, **overrides}
    )
