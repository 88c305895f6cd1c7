"""Token counts against the echo backend's own arithmetic, and faults surfacing as exceptions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.callbacks.token_counting import TokenCountingHandler
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index_instrumentation import get_dispatcher

from llama_index.llms.workers_ai import WorkersAI
from tests.standard.llama_index.conformance import (
    METHODS,
    CallbackRecorder,
    EventRecorder,
    call_method,
    response_text,
)
from workers_ai import QuotaExceededError, ServerError, StreamError

if TYPE_CHECKING:
    from workers_ai_local import LocalServer

PROMPT = "count these six words right now"


@pytest.fixture
def instrumentation() -> Iterator[EventRecorder]:
    recorder = EventRecorder()
    root = get_dispatcher()
    root.add_event_handler(recorder)
    try:
        yield recorder
    finally:
        root.event_handlers.remove(recorder)


def words(text: str) -> int:
    return len(text.split())


@pytest.mark.parametrize("method", METHODS)
async def test_token_counts_are_the_servers_once_per_call(
    make_llm: Callable[..., WorkersAI], method: str
) -> None:
    """The echo server counts words: prompt = the prompt's words, completion = "Echo: " + it,
    and the words of its reasoning line for a reasoning model (qwen3)."""
    counter = TokenCountingHandler()
    llm = make_llm(callback_manager=CallbackManager([counter]))
    for _ in range(2):
        responses = await call_method(llm, method, PROMPT)
    last = responses[-1]
    assert response_text(last) == f"Echo: {PROMPT}"
    reasoning = last.additional_kwargs.get("reasoning_tokens", 0)
    assert len(counter.llm_token_counts) == 2
    assert counter.prompt_llm_token_count == 2 * words(PROMPT)
    assert counter.completion_llm_token_count == 2 * (words(f"Echo: {PROMPT}") + reasoning)
    assert counter.total_llm_token_count == 2 * (
        words(PROMPT) + words(f"Echo: {PROMPT}") + reasoning
    )


@pytest.mark.parametrize("method", ["stream_chat", "astream_chat", "stream_complete"])
async def test_a_cut_stream_raises_and_is_reported(
    server: LocalServer,
    make_llm: Callable[..., WorkersAI],
    method: str,
    instrumentation: EventRecorder,
) -> None:
    server.inject("cut_stream", after=2)
    recorder = CallbackRecorder()
    llm = make_llm(callback_manager=CallbackManager([recorder]))
    with pytest.raises(StreamError):
        await call_method(llm, method, PROMPT)
    (end,) = recorder.of(CBEventType.LLM, "end")
    assert isinstance(end[EventPayload.EXCEPTION], StreamError)
    assert len(instrumentation.of(ExceptionEvent)) == 1


@pytest.mark.parametrize("method", ["stream_chat", "astream_complete"])
async def test_a_malformed_event_raises(
    server: LocalServer, make_llm: Callable[..., WorkersAI], method: str
) -> None:
    server.inject("malformed_event", at=1)
    with pytest.raises(StreamError):
        await call_method(make_llm(), method, PROMPT)


@pytest.mark.parametrize("method", ["stream_chat", "astream_chat"])
async def test_a_whole_answer_to_a_stream_request_is_one_chunk(
    server: LocalServer, make_llm: Callable[..., WorkersAI], method: str
) -> None:
    server.inject("json_for_stream")
    counter = TokenCountingHandler()
    responses = await call_method(
        make_llm(callback_manager=CallbackManager([counter])), method, PROMPT
    )
    assert [r.delta for r in responses] == [f"Echo: {PROMPT}"]
    assert counter.prompt_llm_token_count == words(PROMPT)


@pytest.mark.parametrize(
    ("kind", "error"),
    [("quota", QuotaExceededError), ("server_error", ServerError), ("html_error", ServerError)],
)
@pytest.mark.parametrize("method", ["complete", "achat", "stream_chat", "astream_complete"])
async def test_api_errors_surface_typed(
    server: LocalServer,
    make_llm: Callable[..., WorkersAI],
    method: str,
    kind: str,
    error: type[Exception],
) -> None:
    server.inject(kind)
    with pytest.raises(error):
        await call_method(make_llm(), method, PROMPT)
