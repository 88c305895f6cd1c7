"""WorkersAI and WorkersAIEmbedding through the LlamaIndex conformance suite, and the end-to-end
flow, on the local server's real-model backend: SmolLM2-135M-Instruct on llama.cpp answers every
model name (the server shapes its answer into that name's result family).

Greedy decoding with a seed, so each request always gets the same text: the xfails below are
strict, and each names what the 135M model cannot do. Everything skips when llama-cpp-python or
the model is missing (see ``model_server``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI
from tests.local.llama_index.conftest import FAMILY_MODELS, local_embedding, local_llm
from tests.local.llama_index.test_end_to_end import (
    index,
    test_agent_over_the_index,
    test_async_query_engine_streams,
    test_function_agent_calls_a_tool,
    test_query_engine_answers_from_the_right_document,
)
from tests.standard.llama_index.conformance import EmbeddingConformance, LLMConformance
from workers_ai import WorkersAIError

if TYPE_CHECKING:
    from workers_ai_local import LocalServer

# Imported to run here, against the real model, with this module's make_llm and make_embedding.
__all__ = [
    "index",
    "test_agent_over_the_index",
    "test_async_query_engine_streams",
    "test_function_agent_calls_a_tool",
    "test_query_engine_answers_from_the_right_document",
]

# Greedy and short. The seed also makes the backend evaluate every prompt afresh (no reuse of the
# previous prompt's cache), so a request's text does not depend on what ran before it.
DETERMINISTIC: dict[str, Any] = {"temperature": 0, "seed": 7, "max_tokens": 48}
EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"
# A chat.completion model with its thinking off: SmolLM2's thought would take budget from its
# short answers (test_llama_server covers reasoning on the real model).
OPENAI_MODEL = "@cf/zai-org/glm-4.7-flash"
NO_THINKING: dict[str, Any] = {"thinking": False}
WRONG_TOKEN = "not-the-token"

REPEATS_ITS_CALL = (
    "SmolLM2-135M repeats its tool call as text after the tool's result instead of answering "
    "with the result"
)
NO_TOOL_UNPROMPTED = "SmolLM2-135M does not choose a tool unprompted (its tool decision is 'none')"


# -- the conformance suite ------------------------------------------------------------------------


class RealModelLLMConformance(LLMConformance):
    """The suite for one model name, answered by SmolLM2-135M."""

    expected_error: ClassVar[type[BaseException]] = WorkersAIError
    model: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture
    def llm_factory(self, model_server: LocalServer) -> Callable[..., WorkersAI]:
        return lambda **overrides: local_llm(
            model_server, **{"model": self.model, **self.options, **DETERMINISTIC, **overrides}
        )

    @pytest.fixture
    def failing_llm_factory(self, model_server: LocalServer) -> Callable[..., WorkersAI]:
        return lambda **overrides: local_llm(
            model_server, **{"model": self.model, "api_token": WRONG_TOKEN, **overrides}
        )

    @pytest.fixture
    def secrets(self, model_server: LocalServer) -> list[str]:
        return [model_server.token]


class TestLegacyFamily(RealModelLLMConformance):
    """The legacy ``{"response": ...}`` result. Workers AI does not list function calling for
    this model, so WorkersAI is not a function-calling LLM here and the tool tests skip
    (TestLegacyFamilyTools runs them on a legacy-family model that calls tools)."""

    model: ClassVar[str] = "@cf/meta/llama-3.1-8b-instruct-fp8"
    supports_tools: ClassVar[bool] = False


class TestLegacyFamilyTools(RealModelLLMConformance):
    """Only the tool tests, on a function-calling model answering in the legacy result shape
    (everything else is TestLegacyFamily's, on the same backend and result shape)."""

    model: ClassVar[str] = FAMILY_MODELS["legacy"]
    xfail_reasons: ClassVar[dict[str, str]] = {"test_tool_result_round_trip": REPEATS_ITS_CALL}


class TestScoutFamily(RealModelLLMConformance):
    """llama-4 "scout": ``response``, with OpenAI-shaped tool calls whose arguments are objects."""

    model: ClassVar[str] = FAMILY_MODELS["scout"]
    xfail_reasons: ClassVar[dict[str, str]] = {"test_tool_result_round_trip": REPEATS_ITS_CALL}


class TestOpenAIFamily(RealModelLLMConformance):
    """An OpenAI ``chat.completion`` inside ``result``."""

    model: ClassVar[str] = OPENAI_MODEL
    options: ClassVar[dict[str, Any]] = NO_THINKING
    xfail_reasons: ClassVar[dict[str, str]] = {"test_tool_result_round_trip": REPEATS_ITS_CALL}


def _is_tool_test(name: str) -> bool:
    return any(word in name for word in ("tool", "predict_and_call", "function_agent"))


# Not collected in TestLegacyFamilyTools: pytest collects only functions.
for _name in [n for n in dir(LLMConformance) if n.startswith("test_") and not _is_tool_test(n)]:
    setattr(TestLegacyFamilyTools, _name, None)


class TestEmbeddingConformance(EmbeddingConformance):
    """Mean-pooled SmolLM2-135M embeddings (576 dimensions) behind a bge name."""

    expected_error: ClassVar[type[BaseException]] = WorkersAIError

    @pytest.fixture
    def embedding_factory(self, model_server: LocalServer) -> Callable[..., WorkersAIEmbedding]:
        return lambda **overrides: local_embedding(
            model_server, **{"model_name": EMBEDDING_MODEL, **overrides}
        )

    @pytest.fixture
    def failing_embedding_factory(
        self, model_server: LocalServer
    ) -> Callable[..., WorkersAIEmbedding]:
        return lambda **overrides: local_embedding(
            model_server, **{"model_name": EMBEDDING_MODEL, "api_token": WRONG_TOKEN, **overrides}
        )

    @pytest.fixture
    def secrets(self, model_server: LocalServer) -> list[str]:
        return [model_server.token]


# -- end to end (the tests imported from test_end_to_end) -----------------------------------------

END_TO_END_XFAIL_REASONS = {
    "test_async_query_engine_streams": (
        "SmolLM2-135M answers from the retrieved text in its own words; the test expects the "
        "echo backend's verbatim repetition of the context"
    ),
    "test_function_agent_calls_a_tool": NO_TOOL_UNPROMPTED,
    "test_agent_over_the_index": NO_TOOL_UNPROMPTED,
}


@pytest.fixture(autouse=True)
def _end_to_end_known_failures(request: pytest.FixtureRequest) -> None:
    """The suite's strict xfails, for the module-level end-to-end tests."""
    if request.cls is None:
        reason = END_TO_END_XFAIL_REASONS.get(request.function.__name__)
        if reason:
            request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


@pytest.fixture
def make_llm(model_server: LocalServer) -> Callable[..., WorkersAI]:
    return lambda **overrides: local_llm(
        model_server, **{"model": OPENAI_MODEL, **NO_THINKING, **DETERMINISTIC, **overrides}
    )


@pytest.fixture
def make_embedding(model_server: LocalServer) -> Callable[..., WorkersAIEmbedding]:
    return lambda **overrides: local_embedding(
        model_server, **{"model_name": EMBEDDING_MODEL, **overrides}
    )
