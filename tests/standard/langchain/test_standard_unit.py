"""langchain-tests unit suites (no network): construction, env, tools, structured output."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings

ENV = {
    "CLOUDFLARE_ACCOUNT_ID": "account-from-env",
    "CLOUDFLARE_API_TOKEN": "token-from-env",
    "WORKERS_AI_BASE_URL": "http://127.0.0.1:8787/client/v4",
    "WORKERS_AI_GATEWAY_ID": "gateway-from-env",
}
EXPECTED_FROM_ENV = {
    "account_id": "account-from-env",
    "api_token": "token-from-env",
    "base_url": "http://127.0.0.1:8787/client/v4",
    "gateway_id": "gateway-from-env",
}


class TestChatWorkersAIUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatWorkersAI]:
        return ChatWorkersAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "account_id": "acct"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {"model": "@cf/qwen/qwen3-30b-a3b-fp8"}, EXPECTED_FROM_ENV

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "@cf/meta/llama-3.1-8b-instruct-fp8"


class TestWorkersAIEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[WorkersAIEmbeddings]:
        return WorkersAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/baai/bge-small-en-v1.5", "api_token": "test", "account_id": "acct"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {"model": "@cf/baai/bge-base-en-v1.5"}, EXPECTED_FROM_ENV
