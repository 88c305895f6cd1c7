"""langchain-tests' integration suites for ChatWorkersAI and WorkersAIEmbeddings, configured once.

A suite class is one tier (where its models send their requests) and, for chat, one result family
(the shape the answers come in). The tier files only choose them and name the xfails that belong
to their tier, the way tests/standard/llama_index/conformance.py is used:

    ECHO = Tier("echo", xfails={"test_json_mode": Xfail("the echo backend cannot ...")})

    class TestLegacyFamily(ChatSuite):
        tier = ECHO
        family = FAMILIES["legacy"]

    class TestEmbeddings(EmbeddingsSuite):
        tier = ECHO

The tiers are tests/local/langchain/test_standard_integration.py (the local server's echo
backend), tests/local/langchain/test_standard_real_model.py (the local server's real model) and
tests/live/langchain/test_live_standard.py (Cloudflare). The local tiers reach their server
through the environment, as a user would (tests/local/langchain/conftest.py); the live tier
passes Cloudflare's base URL in ``Tier.connection`` and tests/live/conftest.py skips it without
credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx
import langchain_tests.integration_tests.chat_models as standard_chat_tests
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from tests.local.langchain.images import PNG_1X1

# langchain-tests' usage detail names (its list type is invariant, so an override spells all).
UsageDetail = Literal[
    "audio_input", "audio_output", "reasoning_output", "cache_read_input", "cache_creation_input"
]


@dataclass(frozen=True)
class Xfail:
    """Why a tier (or a class) fails a test: the cause, named. Strict unless the outcome is not
    deterministic, and then the reason says why."""

    reason: str
    strict: bool = True


@dataclass(frozen=True)
class Tier:
    """Where the suites run and what that backend cannot do."""

    name: str
    connection: Mapping[str, Any] = field(default_factory=dict)
    """Given to every model, chat and embeddings (the live tier's base URL); empty when the
    tier's environment already points at its server."""
    chat_options: Mapping[str, Any] = field(default_factory=dict)
    """Given to every chat model, over the family's options (e.g. the real model's sampling)."""
    xfails: Mapping[str, Xfail] = field(default_factory=dict)
    """Test name -> why this tier's backend fails it."""
    vision: bool = True
    """The backend sees images: the image tests run for a family that takes them."""
    offline: bool = True
    """No internet: langchain-tests' image download is served a 1x1 PNG from here."""


@dataclass(frozen=True)
class Family:
    """A result family: the model that answers in it and what its answers report."""

    name: str
    model: str
    override_model: str
    """What ``test_model_override`` switches to."""
    options: Mapping[str, Any] = field(default_factory=dict)
    usage_details: tuple[UsageDetail, ...] = ()
    """Usage details reported on invoke and stream alike (checked by test_usage_metadata)."""
    image_inputs: bool = False


# One model per result shape Workers AI answers in, as Cloudflare names them.
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        # {"response", "tool_calls": [{name, arguments: object}], "usage"}
        Family(
            "legacy",
            model="@cf/meta/llama-3.3-70b-instruct-fp8-fast",
            override_model="@cf/meta/llama-3.1-8b-instruct-fp8",
        ),
        # llama-4: legacy ``response`` with OpenAI-shaped tool calls. A vision model.
        Family(
            "scout",
            model="@cf/meta/llama-4-scout-17b-16e-instruct",
            override_model="@cf/meta/llama-4-scout-17b-16e-instruct",
            image_inputs=True,
        ),
        # A whole ``chat.completion`` inside ``result``; usage repeated on every stream chunk,
        # with prompt_tokens_details.cached_tokens.
        Family(
            "openai",
            model="@cf/qwen/qwen3-30b-a3b-fp8",
            override_model="@cf/openai/gpt-oss-20b",
            usage_details=("cache_read_input",),
        ),
        # gpt-oss: the Responses API's ``output`` items (reasoning, message, function_call) and
        # its typed stream events; stop sequences applied by the client (the API has none).
        Family(
            "responses",
            model="@cf/openai/gpt-oss-120b",
            override_model="@cf/openai/gpt-oss-20b",
            options={"reasoning_effort": "high"},
            usage_details=("cache_read_input", "reasoning_output"),
        ),
        # glm-4.7-flash: a chat.completion model that reasons (``reasoning_content``), with a
        # thinking switch and reasoning efforts.
        Family(
            "reasoning",
            model="@cf/zai-org/glm-4.7-flash",
            override_model="@cf/nvidia/nemotron-3-120b-a12b",
            options={"reasoning_effort": "low"},
            usage_details=("cache_read_input", "reasoning_output"),
        ),
    )
}

EMBEDDING_MODEL = "@cf/baai/bge-small-en-v1.5"


def answer_with_usage(llm: ChatWorkersAI, *, stream: bool) -> AIMessage:
    """One answer to "Hello", invoked, or streamed and aggregated (usage is on one chunk): what
    langchain-tests' ``invoke_with_*`` usage hooks ask for."""
    if not stream:
        return llm.invoke("Hello")
    total: AIMessageChunk | None = None
    for chunk in llm.stream("Hello"):
        total = chunk if total is None else total + chunk
    assert total is not None
    return AIMessage(content=total.content, usage_metadata=total.usage_metadata)


class _TierSuite:
    tier: ClassVar[Tier]
    xfails: ClassVar[Mapping[str, Xfail]] = {}
    """Test name -> why this class (one family on one tier) fails it, besides the tier's."""

    @pytest.fixture(autouse=True)
    def _known_failures(self, request: pytest.FixtureRequest) -> None:
        known = self.xfails.get(request.function.__name__) or self.tier.xfails.get(
            request.function.__name__
        )
        if known:
            request.applymarker(pytest.mark.xfail(reason=known.reason, strict=known.strict))


class ChatSuite(_TierSuite, ChatModelIntegrationTests):
    """ChatModelIntegrationTests on one tier, for one result family."""

    family: ClassVar[Family]

    @property
    def chat_model_class(self) -> type[ChatWorkersAI]:
        return ChatWorkersAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": self.family.model,
            **self.family.options,
            **self.tier.chat_options,
            **self.tier.connection,
        }

    @property
    def model_override_value(self) -> str:
        return self.family.override_model

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return self.family.image_inputs and self.tier.vision

    @property
    def supported_usage_metadata_details(
        self,
    ) -> dict[Literal["invoke", "stream"], list[UsageDetail]]:
        details = list(self.family.usage_details)
        return {"invoke": details, "stream": list(details)}

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        return answer_with_usage(ChatWorkersAI(**self.chat_model_params), stream=stream)

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        return answer_with_usage(ChatWorkersAI(**self.chat_model_params), stream=stream)

    @pytest.fixture(autouse=True)
    def _offline_image(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # test_image_inputs downloads a PNG with httpx.get; serve it one from here instead.
        if not (self.tier.offline and self.supports_image_inputs):
            return

        def fake_get(url: str, **_: Any) -> httpx.Response:
            return httpx.Response(200, content=PNG_1X1, request=httpx.Request("GET", url))

        monkeypatch.setattr(standard_chat_tests.httpx, "get", fake_get)


class EmbeddingsSuite(_TierSuite, EmbeddingsIntegrationTests):
    """EmbeddingsIntegrationTests on one tier, for one embedding model."""

    embedding_model: ClassVar[str] = EMBEDDING_MODEL
    """Not ``model``: that name is langchain-tests' fixture of the embeddings object."""

    @property
    def embeddings_class(self) -> type[WorkersAIEmbeddings]:
        return WorkersAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": self.embedding_model, **self.tier.connection}
