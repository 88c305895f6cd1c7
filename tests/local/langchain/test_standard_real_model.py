"""langchain-tests integration suites against the local server's real model (the ``llama`` backend).

SmolLM2-135M-Instruct on llama.cpp answers under every catalog name; the app shapes its answers
into each name's result family. Forced tool calls and JSON mode are grammar-constrained, so they
are schema-valid; ``tool_choice="auto"`` runs a constrained decision step first.

Every call decodes greedily (temperature 0) with a seed, which makes the backend evaluate each
prompt afresh, so the same request gets the same text every run and the outcomes below are
deterministic. A mild repetition penalty keeps greedy SmolLM2 from looping ("A cat is a cat, a
cat is a cat, ...") until ``max_tokens`` cuts its JSON short; 64 tokens is enough for every
answer the suites ask for. The xfails name what a 135M model cannot do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from tests.local.langchain.usage import answer_with_usage

if TYPE_CHECKING:
    from workers_ai.local import LocalServer

LEGACY_MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8"
# A chat.completion model with its thinking off: SmolLM2's thought would spend part of the small
# max_tokens (test_llama_server covers reasoning), cutting forced calls short.
OPENAI_MODEL = "@cf/zai-org/glm-4.7-flash"
# langchain-tests' usage detail names (its list type is invariant, so an override spells all).
UsageDetail = Literal[
    "audio_input", "audio_output", "reasoning_output", "cache_read_input", "cache_creation_input"
]
# Sampling for every chat call; seed must be >= 1 (the Workers AI input schema says so).
SAMPLING: dict[str, Any] = {
    "temperature": 0,
    "seed": 1,
    "repetition_penalty": 1.15,
    "max_tokens": 64,
}


@pytest.fixture(autouse=True)
def _model_server_env(
    _local_server_env: None, model_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The conftest's environment, pointed at the real-model server instead of the echo one."""
    monkeypatch.setenv("WORKERS_AI_BASE_URL", model_server.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", model_server.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", model_server.token)
    yield


class _RealModelChatSuite(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatWorkersAI]:
        return ChatWorkersAI

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True  # forced calls decode under a grammar of the allowed tools

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return False  # SmolLM2 has no vision

    @pytest.mark.xfail(
        reason="SmolLM2-135M does not follow a JSON shape described only in the prompt's prose: "
        "json_mode sends no schema, so the grammar guarantees just some JSON object, and the "
        "model nests the keys ({'setup': {'punchline': ...}}) instead of giving both at the top",
        strict=True,
    )
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(
        reason="SmolLM2-135M, greedy, fills the forced call's name with the placeholder "
        "'<user name>' instead of copying the Chinese name from the prompt on this machine's "
        "llama.cpp build (compiled from source, so its floating point and hence its greedy "
        "choice can differ between builds: not strict)",
        strict=False,
    )
    def test_unicode_tool_call_integration(
        self, model: BaseChatModel, tool_choice: str | None = None, force_tool_call: bool = True
    ) -> None:
        super().test_unicode_tool_call_integration(model, tool_choice, force_tool_call)


class TestLegacyFamilyRealModel(_RealModelChatSuite):
    """``{"response", "tool_calls", "usage"}`` answers, from SmolLM2."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": LEGACY_MODEL, **SAMPLING}

    @property
    def model_override_value(self) -> str:
        return "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


class TestOpenAIFamilyRealModel(_RealModelChatSuite):
    """A whole ``chat.completion`` inside ``result``, from SmolLM2."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": OPENAI_MODEL, "thinking": False, **SAMPLING}

    @property
    def model_override_value(self) -> str:
        return "@cf/nvidia/nemotron-3-120b-a12b"

    @property
    def supported_usage_metadata_details(
        self,
    ) -> dict[Literal["invoke", "stream"], list[UsageDetail]]:
        return {"invoke": ["cache_read_input"], "stream": ["cache_read_input"]}

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        # The family reports prompt_tokens_details.cached_tokens (0 here) on every answer.
        return answer_with_usage(ChatWorkersAI(**self.chat_model_params), stream=stream)


class TestEmbeddingsRealModel(EmbeddingsIntegrationTests):
    """Mean-pooled SmolLM2 embeddings (576 dimensions) under a bge name."""

    @property
    def embeddings_class(self) -> type[WorkersAIEmbeddings]:
        return WorkersAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/baai/bge-small-en-v1.5"}
