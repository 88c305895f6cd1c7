"""langchain-tests integration suites against the local server, one class per result family.

Configuration comes from the environment (see conftest.py), as it would for a user. The echo
backend answers "Echo: <last user text>", forces tool calls it is asked to make and builds their
arguments from the schema and the numbers in the prompt, and fills JSON-mode answers from the
schema; the xfails below are the few things it cannot do that a real model can.
"""

from __future__ import annotations

from typing import Any

import httpx
import langchain_tests.integration_tests.chat_models as standard_chat_tests
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from tests.local.langchain.images import PNG_1X1
from tests.local.langchain.usage import answer_with_usage

LEGACY_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
SCOUT_MODEL = "@cf/meta/llama-4-scout-17b-16e-instruct"
OPENAI_MODEL = "@cf/qwen/qwen3-30b-a3b-fp8"
RESPONSES_MODEL = "@cf/openai/gpt-oss-120b"
REASONING_MODEL = "@cf/zai-org/glm-4.7-flash"


class _LocalChatSuite(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatWorkersAI]:
        return ChatWorkersAI

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @pytest.mark.xfail(
        reason="the echo backend cannot follow a JSON shape described only in the prompt's prose "
        "(json_mode sends no schema, so it answers {'echo': ...}); a real Workers AI model can",
        strict=True,
    )
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)


class TestLegacyFamily(_LocalChatSuite):
    """``{"response", "tool_calls": [{name, arguments: object}], "usage"}`` answers."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": LEGACY_MODEL}

    @property
    def model_override_value(self) -> str:
        return "@cf/meta/llama-3.1-8b-instruct-fp8"


class TestScoutFamily(_LocalChatSuite):
    """llama-4 answers: legacy ``response`` with OpenAI-shaped tool calls. A vision model."""

    @pytest.fixture(autouse=True)
    def _offline_image(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # test_image_inputs downloads a PNG with httpx.get; serve it one from here instead.
        def fake_get(url: str, **_: Any) -> httpx.Response:
            return httpx.Response(200, content=PNG_1X1, request=httpx.Request("GET", url))

        monkeypatch.setattr(standard_chat_tests.httpx, "get", fake_get)

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": SCOUT_MODEL}

    @property
    def model_override_value(self) -> str:
        return "@cf/meta/llama-4-scout-17b-16e-instruct"


class TestOpenAIFamily(_LocalChatSuite):
    """A whole ``chat.completion`` inside ``result``; usage repeated on every stream chunk."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": OPENAI_MODEL}

    @property
    def model_override_value(self) -> str:
        return "@cf/openai/gpt-oss-20b"

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[Any]]:
        return {"invoke": ["cache_read_input"], "stream": ["cache_read_input"]}

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        return answer_with_usage(ChatWorkersAI(model=OPENAI_MODEL), stream=stream)


class _ReasoningSuite(_LocalChatSuite):
    """A model that reasons: usage reports its reasoning tokens, whole and streamed."""

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[Any]]:
        return {
            "invoke": ["cache_read_input", "reasoning_output"],
            "stream": ["cache_read_input", "reasoning_output"],
        }

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        return answer_with_usage(ChatWorkersAI(**self.chat_model_params), stream=stream)

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        return answer_with_usage(ChatWorkersAI(**self.chat_model_params), stream=stream)


class TestResponsesFamily(_ReasoningSuite):
    """gpt-oss: the Responses API's ``output`` items (reasoning, message, function_call) and
    its typed stream events; stop sequences applied by the client (the API has none)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": RESPONSES_MODEL, "reasoning_effort": "high"}

    @property
    def model_override_value(self) -> str:
        return "@cf/openai/gpt-oss-20b"


class TestReasoningModel(_ReasoningSuite):
    """glm-4.7-flash: a chat.completion model that reasons (``reasoning_content``), with a
    thinking switch and reasoning efforts."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": REASONING_MODEL, "reasoning_effort": "low"}

    @property
    def model_override_value(self) -> str:
        return "@cf/nvidia/nemotron-3-120b-a12b"


class TestEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[WorkersAIEmbeddings]:
        return WorkersAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/baai/bge-small-en-v1.5"}


class TestEmbeddingsQwen(EmbeddingsIntegrationTests):
    """qwen3-embedding takes 32 texts per request, not 100."""

    @property
    def embeddings_class(self) -> type[WorkersAIEmbeddings]:
        return WorkersAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "@cf/qwen/qwen3-embedding-0.6b"}
