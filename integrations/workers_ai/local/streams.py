"""Pure builders for server-sent event streams in each result family (wire contract §3).

Backend events go in, JSON payloads come out (:func:`legacy_events`, :func:`scout_events`,
:func:`openai_chunks`); :func:`sse_frame` encodes one and :func:`regroup_writes` deliberately
misaligns events and network writes, because real streams never line up with reads.
"""

from __future__ import annotations

import json
import math
import random
import string
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from workers_ai.local.backends import Finish, GenerationEvent, TextPiece, ToolCall, ToolCallEvent
from workers_ai.local.wire import json_arguments, legacy_tool_call, usage_body

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
        if isinstance(event, TextPiece):
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
