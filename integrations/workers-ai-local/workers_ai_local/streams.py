"""Pure builders for server-sent event streams in each result family (wire contract §3).

Backend events go in, JSON payloads come out (:func:`legacy_events`, :func:`scout_events`,
:func:`openai_chunks`, :func:`responses_events`); :func:`sse_frame` encodes one and
:func:`regroup_writes` deliberately misaligns events and network writes, because real streams
never line up with reads. Legacy-shaped streams carry no reasoning (those models think inside
their text).
"""

from __future__ import annotations

import json
import math
import random
import string
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from workers_ai._catalog import DEFAULT_REASONING_FIELD
from workers_ai_local.backends import (
    Finish,
    GenerationEvent,
    ReasoningPiece,
    TextPiece,
    ToolCall,
    ToolCallEvent,
)
from workers_ai_local.wire import (
    Completion,
    function_call_item,
    json_arguments,
    legacy_tool_call,
    message_item,
    reasoning_item,
    responses_object,
    usage_body,
)

Padding = Callable[[], str]
UsageMode = Literal["every_chunk", "final", "none"]

DONE_FRAME = b"data: [DONE]\n\n"
HEARTBEAT: dict[str, Any] = {"response": "", "p": "heartbeat"}
ARGUMENT_FRAGMENTS = 3


def random_padding(rng: random.Random) -> Padding:
    """Opaque ``p`` values like Cloudflare's side-channel padding: random letters, random length."""

    def pad() -> str:
        return "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 24)))

    return pad


def sse_frame(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def typed_sse_frame(payload: dict[str, Any]) -> bytes:
    """A Responses event: its ``type`` also as the SSE ``event:`` line, as OpenAI sends it."""
    return f"event: {payload['type']}\n".encode() + sse_frame(payload)


def split_fragments(text: str, parts: int = ARGUMENT_FRAGMENTS) -> list[str]:
    """Cut ``text`` into up to ``parts`` non-empty pieces (one piece when it is shorter)."""
    if not text:
        return [""]
    size = math.ceil(len(text) / parts)
    return [text[i : i + size] for i in range(0, len(text), size)]


def legacy_events(events: Iterable[GenerationEvent], pad: Padding) -> Iterator[dict[str, Any]]:
    """Native stream: a heartbeat, one padded event per token, all tool calls in ONE chunk,
    then the terminal usage event."""
    yield dict(HEARTBEAT)
    calls: list[ToolCall] = []
    for event in events:
        if isinstance(event, TextPiece):
            yield {"response": event.text, "p": pad()}
        elif isinstance(event, ToolCallEvent):
            calls.append(event.call)
        elif isinstance(event, Finish):
            if calls:
                yield {
                    "response": "",
                    "tool_calls": [legacy_tool_call(c) for c in calls],
                    "p": pad(),
                }
            yield {"response": "", "usage": usage_body(event.usage)}


def scout_events(events: Iterable[GenerationEvent], pad: Padding) -> Iterator[dict[str, Any]]:
    """llama-4-scout stream: tokens as legacy; each tool call as a header chunk, argument
    fragments and a null finalisation sentinel (Cloudflare's ``emitToolCallDeltas`` form)."""
    yield dict(HEARTBEAT)
    index = 0
    for event in events:
        if isinstance(event, TextPiece):
            yield {"response": event.text, "p": pad()}
        elif isinstance(event, ToolCallEvent):
            call = event.call
            yield {
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "index": index,
                        "function": {"name": call.name},
                    }
                ],
                "p": pad(),
            }
            for fragment in split_fragments(json_arguments(call)):
                yield {
                    "tool_calls": [{"index": index, "function": {"arguments": fragment}}],
                    "p": pad(),
                }
            yield {
                "tool_calls": [
                    {
                        "id": None,
                        "type": None,
                        "index": index,
                        "function": {"name": None, "arguments": ""},
                    }
                ]
            }
            index += 1
        elif isinstance(event, Finish):
            yield {"response": "", "usage": usage_body(event.usage)}


def openai_chunks(
    events: Iterable[GenerationEvent],
    *,
    completion_id: str,
    created: int,
    model: str,
    usage: UsageMode,
    native_terminal: bool,
    reasoning_field: str = DEFAULT_REASONING_FIELD,
) -> Iterator[dict[str, Any]]:
    """``chat.completion.chunk`` events.

    ``usage="every_chunk"`` repeats cumulative usage on every chunk and ends with a
    ``choices: []`` usage chunk (what OpenAI-family models do on ``/ai/run``); ``"final"`` is
    OpenAI's ``stream_options.include_usage`` (``usage: null`` until the last chunk); ``"none"``
    omits usage. ``native_terminal`` appends the native ``{"response": "", "usage"}`` event
    seen in GLM and kimi traces.
    """
    first = True
    index = 0

    def chunk(delta: dict[str, Any], finish: str | None, event: GenerationEvent) -> dict[str, Any]:
        nonlocal first
        if first:
            delta = {"role": "assistant", **delta}
            first = False
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage == "every_chunk":
            body["usage"] = usage_body(event.usage, openai=True)
        elif usage == "final":
            body["usage"] = None
        return body

    for event in events:
        if isinstance(event, ReasoningPiece):
            yield chunk({reasoning_field: event.text}, None, event)
        elif isinstance(event, TextPiece):
            yield chunk({"content": event.text}, None, event)
        elif isinstance(event, ToolCallEvent):
            call = event.call
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield chunk({"tool_calls": [head]}, None, event)
            for fragment in split_fragments(json_arguments(call)):
                tail = {"index": index, "function": {"arguments": fragment}}
                yield chunk({"tool_calls": [tail]}, None, event)
            index += 1
        elif isinstance(event, Finish):
            yield chunk({"content": ""} if first else {}, event.reason, event)
            if usage != "none":
                yield {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage_body(event.usage, openai=True),
                }
            if native_terminal:
                yield {"response": "", "usage": usage_body(event.usage, openai=True)}


class _ResponsesStream:
    """The Responses API's event sequence, built as backend events arrive: each output item is
    announced (``output_item.added``), filled by deltas and closed (``output_item.done``)."""

    def __init__(self, *, response_id: str, created: int, model: str) -> None:
        self.response_id, self.created, self.model = response_id, created, model
        self.sequence = 0
        self.output: list[dict[str, Any]] = []
        self.open: str | None = None  # "reasoning" or "message" while one is being filled
        self.text = ""

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return payload

    def _where(self) -> dict[str, Any]:
        return {"item_id": self.output[-1]["id"], "output_index": len(self.output) - 1}

    def start(self) -> Iterator[dict[str, Any]]:
        shell = self.response(None)
        yield self.event("response.created", response=shell)
        yield self.event("response.in_progress", response=shell)

    def response(self, completion: Completion | None) -> dict[str, Any]:
        return responses_object(
            completion,
            model=self.model,
            response_id=self.response_id,
            created=self.created,
            output=list(self.output),
        )

    def open_item(self, kind: str) -> Iterator[dict[str, Any]]:
        if self.open == kind:
            return
        yield from self.close()
        index = len(self.output)
        part: dict[str, Any]
        if kind == "reasoning":
            item = reasoning_item(f"rs_{self.response_id}_{index}", "")
            part = {"type": "reasoning_text", "text": ""}
        else:
            item = message_item(f"msg_{self.response_id}_{index}", "", status="in_progress")
            part = {"type": "output_text", "text": "", "annotations": []}
        item["content"] = []
        self.output.append(item)
        self.open, self.text = kind, ""
        yield self.event("response.output_item.added", output_index=index, item=dict(item))
        yield self.event("response.content_part.added", **self._where(), content_index=0, part=part)

    def delta(self, kind: str, text: str) -> Iterator[dict[str, Any]]:
        yield from self.open_item(kind)
        self.text += text
        name = "reasoning_text" if kind == "reasoning" else "output_text"
        yield self.event(f"response.{name}.delta", **self._where(), content_index=0, delta=text)

    def close(self) -> Iterator[dict[str, Any]]:
        if self.open is None:
            return
        where = self._where()
        if self.open == "reasoning":
            done = reasoning_item(where["item_id"], self.text)
            part = done["content"][0]
            yield self.event(
                "response.reasoning_text.done", **where, content_index=0, text=self.text
            )
        else:
            done = message_item(where["item_id"], self.text)
            part = done["content"][0]
            yield self.event("response.output_text.done", **where, content_index=0, text=self.text)
        yield self.event("response.content_part.done", **where, content_index=0, part=part)
        self.output[-1] = done
        self.open = None
        yield self.event("response.output_item.done", output_index=where["output_index"], item=done)

    def call(self, call: ToolCall) -> Iterator[dict[str, Any]]:
        yield from self.close()
        index = len(self.output)
        arguments = json_arguments(call)
        item = function_call_item(f"fc_{self.response_id}_{index}", call, "")
        item["status"] = "in_progress"
        self.output.append(item)
        yield self.event("response.output_item.added", output_index=index, item=dict(item))
        where = self._where()
        for fragment in split_fragments(arguments):
            yield self.event("response.function_call_arguments.delta", **where, delta=fragment)
        yield self.event("response.function_call_arguments.done", **where, arguments=arguments)
        done = function_call_item(item["id"], call, arguments)
        self.output[-1] = done
        yield self.event("response.output_item.done", output_index=index, item=done)


def responses_events(
    events: Iterable[GenerationEvent], *, response_id: str, created: int, model: str
) -> Iterator[dict[str, Any]]:
    """The Responses API's stream (``openai.types.responses.ResponseStreamEvent``): created,
    in_progress, each output item added / its deltas / done, then ``response.completed``
    (``response.incomplete`` when ``max_output_tokens`` cut it) with the usage."""
    stream = _ResponsesStream(response_id=response_id, created=created, model=model)
    yield from stream.start()
    for event in events:
        if isinstance(event, ReasoningPiece):
            yield from stream.delta("reasoning", event.text)
        elif isinstance(event, TextPiece):
            yield from stream.delta("message", event.text)
        elif isinstance(event, ToolCallEvent):
            yield from stream.call(event.call)
        elif isinstance(event, Finish):
            if not stream.output:
                yield from stream.open_item("message")  # an answer with no text at all
            yield from stream.close()
            final = stream.response(Completion("", (), event.reason, event.usage))
            kind = "response.incomplete" if event.reason == "length" else "response.completed"
            yield stream.event(kind, response=final)


def regroup_writes(frames: Iterable[bytes]) -> Iterator[bytes]:
    """Re-cut encoded frames into network writes: in every run of three, two frames share one
    write and the third is split in half (possibly inside a UTF-8 character)."""
    pending = b""
    for i, frame in enumerate(frames):
        phase = i % 3
        if phase == 0:
            pending = frame
        elif phase == 1:
            yield pending + frame
            pending = b""
        else:
            cut = max(1, len(frame) // 2)
            yield frame[:cut]
            yield frame[cut:]
    if pending:
        yield pending
