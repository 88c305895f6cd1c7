"""A conformance suite for LlamaIndex LLMs and embedding models (LlamaIndex ships none).

Its checklist is llama-index-core's own tests (``llms/test_callbacks.py``,
``llms/test_function_calling.py``, ``llms/test_structured_llm.py``,
``llms/test_instrumentation_events.py``, ``embeddings/test_base.py``) plus what the framework
relies on when it drives a model: the eight call methods, callback and instrumentation events,
token counting once per call, tool calling (direct, ``predict_and_call``, streamed, in a
``FunctionAgent``), structured output, errors surfacing as exceptions, and no secrets in
anything LlamaIndex serializes.

Use it by subclassing and providing fixtures, as with langchain-tests:

    class TestMyLLM(LLMConformance):
        @pytest.fixture
        def llm_factory(self) -> LLMFactory:
            return lambda **overrides: MyLLM(api_key="sk-test", **overrides)

        @pytest.fixture
        def failing_llm_factory(self) -> LLMFactory:     # every call fails (e.g. a bad key)
            return lambda **overrides: MyLLM(api_key="wrong", **overrides)

        @pytest.fixture
        def secrets(self) -> list[str]:                  # must never be serialized
            return ["sk-test"]

A factory takes keyword overrides (the suite passes ``callback_manager=``) and returns a fresh
object. Class attributes switch off what a model cannot do; ``xfail_reasons`` marks tests the
backend is known to fail, each with its cause.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.callbacks.token_counting import TokenCountingHandler
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import (
    EmbeddingEndEvent,
    EmbeddingStartEvent,
)
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
    LLMCompletionStartEvent,
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import LLM
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from llama_index_instrumentation import get_dispatcher
from pydantic import BaseModel, Field

LLMFactory = Callable[..., LLM]
EmbeddingFactory = Callable[..., BaseEmbedding]

CHAT_METHODS = ("chat", "stream_chat", "achat", "astream_chat")
COMPLETION_METHODS = ("complete", "stream_complete", "acomplete", "astream_complete")
METHODS = CHAT_METHODS + COMPLETION_METHODS

QUESTION = "Say hello to the conformance suite in five words."


# -- shared helpers -------------------------------------------------------------------------------


async def call_method(llm: LLM, method: str, text: str = QUESTION) -> list[Any]:
    """Call one of the eight methods; the responses it gave (one, or every streamed chunk)."""
    argument: Any = [ChatMessage(role="user", content=text)] if method in CHAT_METHODS else text
    result = getattr(llm, method)(argument)
    if method.startswith("a"):
        result = await result
    if "stream" not in method:
        return [result]
    if method.startswith("a"):
        return [r async for r in result]
    return list(result)


def response_text(response: ChatResponse | CompletionResponse) -> str:
    if isinstance(response, ChatResponse):
        return response.message.content or ""
    return response.text


def reported_usage(response: ChatResponse | CompletionResponse) -> dict[str, Any]:
    raw = response.raw if isinstance(response.raw, dict) else dict(response.raw or {})
    usage = raw.get("usage")
    assert isinstance(usage, dict), f"raw has no usage dict: {raw!r:.300}"
    return usage


class CallbackRecorder(BaseCallbackHandler):
    """Every callback event, in order: (start|end, event type, payload, event id)."""

    def __init__(self) -> None:
        super().__init__([], [])
        self.events: list[tuple[str, CBEventType, dict[str, Any], str]] = []

    def on_event_start(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        parent_id: str = "",
        **kwargs: Any,
    ) -> str:
        self.events.append(("start", event_type, dict(payload or {}), event_id))
        return event_id

    def on_event_end(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        **kwargs: Any,
    ) -> None:
        self.events.append(("end", event_type, dict(payload or {}), event_id))

    def start_trace(self, trace_id: str | None = None) -> None:
        return None

    def end_trace(
        self, trace_id: str | None = None, trace_map: dict[str, list[str]] | None = None
    ) -> None:
        return None

    def of(self, event_type: CBEventType, phase: str) -> list[dict[str, Any]]:
        return [p for ph, t, p, _ in self.events if t == event_type and ph == phase]


class EventRecorder(BaseEventHandler):
    """Instrumentation events seen by the root dispatcher while installed."""

    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "ConformanceEventRecorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)

    def of(self, kind: type[BaseEvent]) -> list[BaseEvent]:
        return [e for e in self.events if isinstance(e, kind)]


class _SuiteFixtures:
    """Fixtures both suites use, and strict xfails from ``xfail_reasons``."""

    xfail_reasons: ClassVar[dict[str, str]] = {}
    """Test name -> why this backend fails it (applied as a strict xfail)."""

    @pytest.fixture(autouse=True)
    def _known_failures(self, request: pytest.FixtureRequest) -> None:
        reason = self.xfail_reasons.get(request.function.__name__)
        if reason:
            request.applymarker(pytest.mark.xfail(reason=reason, strict=True))

    @pytest.fixture
    def instrumentation(self) -> Iterator[EventRecorder]:
        recorder = EventRecorder()
        root = get_dispatcher()
        root.add_event_handler(recorder)
        try:
            yield recorder
        finally:
            root.event_handlers.remove(recorder)


def assert_no_secret(secrets: list[str], where: str, value: Any) -> None:
    text = value if isinstance(value, str) else repr(value)
    for secret in secrets:
        assert secret not in text, f"a secret leaked into {where}"


# -- the tool, the output class and the prompts the suite uses ------------------------------------


def magic_function(input: int) -> int:
    """Return the magic number of an integer input."""
    return input + 2


MAGIC_TOOL = FunctionTool.from_defaults(magic_function)
TOOL_QUESTION = "What is magic_function(3)? Call the magic_function tool with input 3."


class CityFact(BaseModel):
    """A city and the year it was founded."""

    city: str = Field(description="The city's name")
    year: int = Field(description="The year the city was founded")


FACT_PROMPT = PromptTemplate(
    "Name a city founded in the year {year}; answer with its name and the year {year}."
)


# -- LLMs -----------------------------------------------------------------------------------------


class LLMConformance(_SuiteFixtures):
    """The contract of a LlamaIndex LLM. Provide ``llm_factory``, ``failing_llm_factory`` and
    ``secrets`` fixtures (see the module docstring)."""

    reports_usage: ClassVar[bool] = True
    """The backend reports token usage (raw["usage"] with prompt and completion tokens)."""
    supports_tools: ClassVar[bool] = True
    """A FunctionCallingLLM that can call ``magic_function``."""
    supports_structured_output: ClassVar[bool] = True
    expected_error: ClassVar[type[BaseException]] = Exception
    """What a failing call raises (the suite checks it is raised, never swallowed)."""

    @pytest.fixture
    def llm(self, llm_factory: LLMFactory) -> LLM:
        return llm_factory()

    def _needs_tools(self) -> None:
        if not self.supports_tools:
            pytest.skip("this LLM does not call tools")

    def _needs_structured(self) -> None:
        if not self.supports_structured_output:
            pytest.skip("this LLM does not produce structured output")

    # -- identity and metadata --------------------------------------------------------------------

    def test_is_a_llama_index_llm(self, llm: LLM) -> None:
        assert isinstance(llm, LLM)
        if self.supports_tools:
            assert isinstance(llm, FunctionCallingLLM)
            assert llm.metadata.is_function_calling_model

    def test_metadata(self, llm: LLM) -> None:
        metadata = llm.metadata
        assert metadata.context_window > 0
        assert metadata.num_output > 0
        assert metadata.model_name and metadata.model_name != "unknown"

    def test_to_payload(self, llm: LLM) -> None:
        payload = llm.to_payload()
        assert payload["class_name"] == llm.class_name()
        assert payload["model_name"] == llm.metadata.model_name
        assert payload.get("model", payload["model_name"]) == llm.metadata.model_name
        json.dumps(payload, default=str)

    def test_no_secret_in_serializations(self, llm: LLM, secrets: list[str]) -> None:
        assert_no_secret(secrets, "repr", repr(llm))
        assert_no_secret(secrets, "str", str(llm))
        assert_no_secret(secrets, "model_dump", llm.model_dump())
        assert_no_secret(secrets, "model_dump_json", llm.model_dump_json())
        assert_no_secret(secrets, "to_dict", llm.to_dict())
        assert_no_secret(secrets, "to_json", llm.to_json())
        assert_no_secret(secrets, "to_payload", llm.to_payload())

    # -- the eight methods ------------------------------------------------------------------------

    @pytest.mark.parametrize("method", METHODS)
    async def test_method_answers(self, llm: LLM, method: str) -> None:
        responses = await call_method(llm, method)
        assert responses, f"{method} gave no response"
        expected = ChatResponse if method in CHAT_METHODS else CompletionResponse
        assert all(isinstance(r, expected) for r in responses)
        final = responses[-1]
        assert response_text(final).strip(), f"{method} answered with no text"
        if "stream" in method:
            deltas = "".join(r.delta or "" for r in responses)
            assert deltas == response_text(final), "streamed deltas do not add up to the answer"

    @pytest.mark.parametrize("method", METHODS)
    async def test_usage_on_the_final_response(self, llm: LLM, method: str) -> None:
        if not self.reports_usage:
            pytest.skip("this backend reports no usage")
        responses = await call_method(llm, method)
        usage = reported_usage(responses[-1])
        assert usage["prompt_tokens"] > 0
        assert usage["completion_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            assert responses[-1].additional_kwargs[key] == usage[key]
        for earlier in responses[:-1]:
            raw = earlier.raw if isinstance(earlier.raw, dict) else {}
            assert raw.get("usage") is None, "usage must arrive once, on the final chunk"

    def test_complete_prompt_positional_or_keyword(
        self, llm: LLM, instrumentation: EventRecorder
    ) -> None:
        assert llm.complete(QUESTION).text.strip()
        assert llm.complete(prompt=QUESTION).text.strip()
        streamed = "".join(r.delta or "" for r in llm.stream_complete(prompt=QUESTION))
        assert streamed.strip()
        starts = instrumentation.of(LLMCompletionStartEvent)
        assert [e.prompt for e in starts] == [QUESTION] * 3  # type: ignore[attr-defined]

    def test_complete_rejects_duplicate_or_missing_prompt(self, llm: LLM) -> None:
        with pytest.raises(TypeError):
            llm.complete(QUESTION, prompt=QUESTION)  # type: ignore[misc]
        with pytest.raises(ValueError):
            llm.complete()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            llm.stream_complete(QUESTION, prompt=QUESTION)  # type: ignore[misc]
        with pytest.raises(ValueError):
            llm.stream_complete()  # type: ignore[call-arg]

    # -- callbacks, instrumentation, token counting -----------------------------------------------

    @pytest.mark.parametrize("method", METHODS)
    async def test_one_callback_event_per_call(
        self, llm_factory: LLMFactory, method: str, secrets: list[str]
    ) -> None:
        recorder = CallbackRecorder()
        llm = llm_factory(callback_manager=CallbackManager([recorder]))
        responses = await call_method(llm, method)
        llm_events = [e for e in recorder.events if e[1] == CBEventType.LLM]
        assert [e[0] for e in llm_events] == ["start", "end"], llm_events
        assert llm_events[0][3] == llm_events[1][3]
        start, end = llm_events[0][2], llm_events[1][2]
        assert_no_secret(secrets, "the callback payload", start[EventPayload.SERIALIZED])
        key = EventPayload.RESPONSE if method in CHAT_METHODS else EventPayload.COMPLETION
        assert end[key] == responses[-1]

    @pytest.mark.parametrize("method", METHODS)
    async def test_instrumentation_events(
        self, llm: LLM, method: str, instrumentation: EventRecorder, secrets: list[str]
    ) -> None:
        responses = await call_method(llm, method)
        chat = method in CHAT_METHODS
        start = instrumentation.of(LLMChatStartEvent if chat else LLMCompletionStartEvent)
        end = instrumentation.of(LLMChatEndEvent if chat else LLMCompletionEndEvent)
        progress = instrumentation.of(
            LLMChatInProgressEvent if chat else LLMCompletionInProgressEvent
        )
        assert len(start) == 1 and len(end) == 1
        assert len(progress) == (len(responses) if "stream" in method else 0)
        assert end[0].response == responses[-1]  # type: ignore[attr-defined]
        assert_no_secret(secrets, "the start event", start[0].model_dump())
        for event in start + progress + end:
            json.dumps(event.model_dump(), default=str)  # exporters serialize every event

    @pytest.mark.parametrize("method", METHODS)
    async def test_token_counting_counts_each_call_once(
        self, llm_factory: LLMFactory, method: str
    ) -> None:
        if not self.reports_usage:
            pytest.skip("this backend reports no usage")
        counter = TokenCountingHandler()
        llm = llm_factory(callback_manager=CallbackManager([counter]))
        responses = await call_method(llm, method)
        usage = reported_usage(responses[-1])
        assert len(counter.llm_token_counts) == 1
        assert counter.prompt_llm_token_count == usage["prompt_tokens"]
        assert counter.completion_llm_token_count == usage["completion_tokens"]

    # -- errors -----------------------------------------------------------------------------------

    @pytest.mark.parametrize("method", METHODS)
    async def test_errors_surface(self, failing_llm_factory: LLMFactory, method: str) -> None:
        recorder = CallbackRecorder()
        llm = failing_llm_factory(callback_manager=CallbackManager([recorder]))
        with pytest.raises(self.expected_error):
            await call_method(llm, method)
        ends = recorder.of(CBEventType.LLM, "end")
        assert len(ends) == 1 and EventPayload.EXCEPTION in ends[0]

    # -- tools ------------------------------------------------------------------------------------

    def test_chat_with_tools_calls_the_tool(self, llm: LLM) -> None:
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)
        response = llm.chat_with_tools([MAGIC_TOOL], user_msg=TOOL_QUESTION, tool_required=True)
        calls = llm.get_tool_calls_from_response(response)
        assert [c.tool_name for c in calls] == ["magic_function"]
        assert calls[0].tool_kwargs == {"input": 3}
        assert calls[0].tool_id

    async def test_achat_with_tools_calls_the_tool(self, llm: LLM) -> None:
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)
        response = await llm.achat_with_tools(
            [MAGIC_TOOL], user_msg=TOOL_QUESTION, tool_required=True
        )
        calls = llm.get_tool_calls_from_response(response)
        assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("magic_function", {"input": 3})]

    def test_stream_chat_with_tools_assembles_the_call(self, llm: LLM) -> None:
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)
        responses = list(
            llm.stream_chat_with_tools([MAGIC_TOOL], user_msg=TOOL_QUESTION, tool_required=True)
        )
        for partial in responses:  # every chunk must be readable, as FunctionAgent reads them
            llm.get_tool_calls_from_response(partial, error_on_no_tool_call=False)
        calls = llm.get_tool_calls_from_response(responses[-1])
        assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("magic_function", {"input": 3})]

    async def test_astream_chat_with_tools_assembles_the_call(self, llm: LLM) -> None:
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)
        stream = await llm.astream_chat_with_tools(
            [MAGIC_TOOL], user_msg=TOOL_QUESTION, tool_required=True
        )
        responses = [r async for r in stream]
        calls = llm.get_tool_calls_from_response(responses[-1])
        assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("magic_function", {"input": 3})]

    def test_no_tool_call_is_an_error_only_when_asked(self, llm: LLM) -> None:
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)
        response = llm.chat([ChatMessage(role="user", content=QUESTION)])
        assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
        with pytest.raises(ValueError):
            llm.get_tool_calls_from_response(response, error_on_no_tool_call=True)

    def test_tool_result_round_trip(self, llm: LLM) -> None:
        """The assistant's tool call and the tool's answer go back to the model as history."""
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)
        first = llm.chat_with_tools([MAGIC_TOOL], user_msg=TOOL_QUESTION, tool_required=True)
        call = llm.get_tool_calls_from_response(first)[0]
        history = [
            ChatMessage(role="user", content=TOOL_QUESTION),
            first.message,
            ChatMessage(
                role="tool",
                content=str(magic_function(**call.tool_kwargs)),
                additional_kwargs={"tool_call_id": call.tool_id, "name": call.tool_name},
            ),
        ]
        final = llm.chat_with_tools([MAGIC_TOOL], chat_history=history)
        assert "5" in (final.message.content or "")

    def test_predict_and_call(self, llm: LLM) -> None:
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)
        answer = llm.predict_and_call([MAGIC_TOOL], user_msg=TOOL_QUESTION, tool_required=True)
        assert answer.response == "5"
        assert answer.sources[0].tool_name == "magic_function"

    async def test_apredict_and_call(self, llm: LLM) -> None:
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)
        answer = await llm.apredict_and_call(
            [MAGIC_TOOL], user_msg=TOOL_QUESTION, tool_required=True
        )
        assert answer.response == "5"

    def test_predict_and_call_raises_on_tool_error(self, llm: LLM) -> None:
        self._needs_tools()
        assert isinstance(llm, FunctionCallingLLM)

        def magic_function(input: int) -> int:
            """Return the magic number of an integer input."""
            raise RuntimeError("the tool broke")

        broken = FunctionTool.from_defaults(magic_function)
        with pytest.raises(ValueError, match="the tool broke"):
            llm.predict_and_call(
                [broken], user_msg=TOOL_QUESTION, tool_required=True, error_on_tool_error=True
            )

    # The workflow machinery inspects its own pydantic fields, which pydantic reports as deprecated.
    @pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")
    async def test_function_agent_calls_the_tool(self, llm: LLM) -> None:
        self._needs_tools()
        agent = FunctionAgent(
            tools=[MAGIC_TOOL], llm=llm, system_prompt="Answer with the tools you have."
        )
        handler = agent.run(user_msg=TOOL_QUESTION)
        events = [event async for event in handler.stream_events()]
        result = await handler
        results = [e for e in events if isinstance(e, ToolCallResult)]
        assert [(r.tool_name, r.tool_kwargs) for r in results] == [("magic_function", {"input": 3})]
        assert results[0].tool_output.content == "5"
        assert any(isinstance(e, AgentStream) for e in events), "FunctionAgent streams"
        assert "5" in str(result)

    # -- structured output ------------------------------------------------------------------------

    def test_structured_predict(self, llm: LLM, instrumentation: EventRecorder) -> None:
        self._needs_structured()
        fact = llm.structured_predict(CityFact, FACT_PROMPT, year="1624")
        assert isinstance(fact, CityFact)
        assert fact.year == 1624
        assert len(instrumentation.of(LLMStructuredPredictStartEvent)) == 1
        assert len(instrumentation.of(LLMStructuredPredictEndEvent)) == 1

    async def test_astructured_predict(self, llm: LLM) -> None:
        self._needs_structured()
        fact = await llm.astructured_predict(CityFact, FACT_PROMPT, year="1624")
        assert isinstance(fact, CityFact)
        assert fact.year == 1624

    def test_stream_structured_predict(self, llm: LLM) -> None:
        self._needs_structured()
        partials = list(llm.stream_structured_predict(CityFact, FACT_PROMPT, year="1624"))
        assert partials
        assert isinstance(partials[-1], CityFact)
        assert partials[-1].year == 1624

    async def test_astream_structured_predict(self, llm: LLM) -> None:
        self._needs_structured()
        stream = await llm.astream_structured_predict(CityFact, FACT_PROMPT, year="1624")
        partials = [p async for p in stream]
        assert isinstance(partials[-1], CityFact)

    def test_as_structured_llm(self, llm: LLM) -> None:
        self._needs_structured()
        structured = llm.as_structured_llm(CityFact)
        response = structured.chat(
            [ChatMessage(role="user", content="Name a city founded in the year 1624.")]
        )
        assert isinstance(response.raw, CityFact)
        assert CityFact.model_validate_json(response.message.content or "") == response.raw

    def test_structured_predict_counts_one_llm_call(self, llm_factory: LLMFactory) -> None:
        self._needs_structured()
        counter = TokenCountingHandler()
        llm = llm_factory(callback_manager=CallbackManager([counter]))
        llm.structured_predict(CityFact, FACT_PROMPT, year="1624")
        assert len(counter.llm_token_counts) == 1


# -- embeddings -----------------------------------------------------------------------------------


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


TEXTS = [
    "The cat sat on the mat.",
    "Dogs bark at the mail carrier.",
    "The cat sat on the mat.",
    "Rivers flow into the sea.",
    "Paris is the capital of France.",
]


class EmbeddingConformance(_SuiteFixtures):
    """The contract of a LlamaIndex embedding model. Provide ``embedding_factory``,
    ``failing_embedding_factory`` and ``secrets`` fixtures."""

    expected_error: ClassVar[type[BaseException]] = Exception
    vectors_reflect_meaning: ClassVar[bool] = True
    """Texts sharing words are closer than unrelated ones (False for constant or random mocks)."""

    @pytest.fixture
    def embed_model(self, embedding_factory: EmbeddingFactory) -> BaseEmbedding:
        return embedding_factory()

    def test_is_a_llama_index_embedding(self, embed_model: BaseEmbedding) -> None:
        assert isinstance(embed_model, BaseEmbedding)
        assert embed_model.model_name and embed_model.model_name != "unknown"
        assert embed_model.embed_batch_size > 0

    def test_no_secret_in_serializations(
        self, embed_model: BaseEmbedding, secrets: list[str]
    ) -> None:
        assert_no_secret(secrets, "repr", repr(embed_model))
        assert_no_secret(secrets, "model_dump", embed_model.model_dump())
        assert_no_secret(secrets, "to_dict", embed_model.to_dict())
        assert_no_secret(secrets, "to_json", embed_model.to_json())
        assert_no_secret(secrets, "to_payload", embed_model.to_payload())

    def test_query_and_text_embeddings(self, embed_model: BaseEmbedding) -> None:
        query = embed_model.get_query_embedding(TEXTS[0])
        text = embed_model.get_text_embedding(TEXTS[0])
        assert query and all(isinstance(x, float) for x in query)
        assert len(query) == len(text)

    async def test_async_query_and_text_embeddings(self, embed_model: BaseEmbedding) -> None:
        query = await embed_model.aget_query_embedding(TEXTS[0])
        text = await embed_model.aget_text_embedding(TEXTS[0])
        assert len(query) == len(text) == len(embed_model.get_text_embedding(TEXTS[0]))

    def test_batch_keeps_order(self, embed_model: BaseEmbedding) -> None:
        vectors = embed_model.get_text_embedding_batch(TEXTS)
        assert len(vectors) == len(TEXTS)
        assert len({len(v) for v in vectors}) == 1
        assert _cosine(vectors[0], vectors[2]) == pytest.approx(1.0, abs=1e-3)
        single = embed_model.get_text_embedding(TEXTS[3])
        assert _cosine(vectors[3], single) == pytest.approx(1.0, abs=1e-3)

    async def test_async_batch_keeps_order(self, embed_model: BaseEmbedding) -> None:
        vectors = await embed_model.aget_text_embedding_batch(TEXTS)
        sync_vectors = embed_model.get_text_embedding_batch(TEXTS)
        assert len(vectors) == len(TEXTS)
        for a, b in zip(vectors, sync_vectors, strict=True):
            assert _cosine(a, b) == pytest.approx(1.0, abs=1e-3)

    def test_related_texts_are_closer(self, embed_model: BaseEmbedding) -> None:
        if not self.vectors_reflect_meaning:
            pytest.skip("this model's vectors do not reflect meaning")
        cat, cat_again, rivers = embed_model.get_text_embedding_batch(
            ["a cat sat on a mat", "the cat sat on the mat", "rivers flow into the sea"]
        )
        assert _cosine(cat, cat_again) > _cosine(cat, rivers)

    @pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
    async def test_batches_follow_embed_batch_size(
        self,
        embedding_factory: EmbeddingFactory,
        use_async: bool,
        instrumentation: EventRecorder,
    ) -> None:
        recorder = CallbackRecorder()
        model = embedding_factory(callback_manager=CallbackManager([recorder]), embed_batch_size=2)
        if use_async:
            vectors = await model.aget_text_embedding_batch(TEXTS)
        else:
            vectors = model.get_text_embedding_batch(TEXTS)
        assert len(vectors) == len(TEXTS)
        batches = math.ceil(len(TEXTS) / 2)
        ends = recorder.of(CBEventType.EMBEDDING, "end")
        assert len(recorder.of(CBEventType.EMBEDDING, "start")) == batches == len(ends)
        assert sorted(len(e[EventPayload.CHUNKS]) for e in ends) == [1, 2, 2]
        assert len(instrumentation.of(EmbeddingStartEvent)) == batches
        assert len(instrumentation.of(EmbeddingEndEvent)) == batches

    @pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
    async def test_show_progress(
        self,
        embed_model: BaseEmbedding,
        use_async: bool,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        if use_async:
            vectors = await embed_model.aget_text_embedding_batch(TEXTS, show_progress=True)
        else:
            vectors = embed_model.get_text_embedding_batch(TEXTS, show_progress=True)
        assert len(vectors) == len(TEXTS)
        assert "Generating embeddings" in capsys.readouterr().err

    def test_similarity(self, embed_model: BaseEmbedding) -> None:
        a = embed_model.get_query_embedding("the cat sat")
        assert embed_model.similarity(a, a) == pytest.approx(1.0, abs=1e-6)

    @pytest.mark.parametrize(
        "call",
        ["get_query_embedding", "get_text_embedding", "aget_query_embedding", "batch", "abatch"],
    )
    async def test_errors_surface(
        self, failing_embedding_factory: EmbeddingFactory, call: str
    ) -> None:
        model = failing_embedding_factory()
        with pytest.raises(self.expected_error):
            if call == "batch":
                model.get_text_embedding_batch(TEXTS)
            elif call == "abatch":
                await model.aget_text_embedding_batch(TEXTS)
            elif call.startswith("a"):
                await getattr(model, call)(TEXTS[0])
            else:
                getattr(model, call)(TEXTS[0])
