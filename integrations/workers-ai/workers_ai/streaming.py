"""SSE event data -> typed chunks. Pure and shared by the sync and async clients.

The parser takes each event's ``data`` (``_sse`` does the byte framing) and knows the stream
quirks: padding ``p`` fields, empty heartbeats, tool calls sent whole (legacy) or as incremental
deltas (native and OpenAI forms), usage repeated on every OpenAI chunk, and a final
``{"response": "", "usage": ...}`` event. Usage, finish_reason and model are held back and sent
once, on the last chunk, when ``[DONE]`` arrives, or, in the Responses API's event form
(gpt-oss: typed events such as ``response.output_text.delta``), at ``response.completed``,
which OpenAI-style servers send with no ``[DONE]`` after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ._parse import arguments_text, new_tool_call_id, parse_usage, preview
from ._responses import finish_reason as responses_finish_reason
from ._stop import StopFilter
from .errors import StreamError
from .types import ChatChunk, ChatResult, ToolCallDelta, Usage

DONE = "[DONE]"
_PLAIN_TEXT_KEYS = frozenset(("response", "p"))
# Keys that make an untyped event one of ours (native or chat.completion.chunk).
_NATIVE_KEYS = frozenset(("response", "p", "tool_calls", "usage", "finish_reason"))
_RESPONSES_END = frozenset(("response.completed", "response.incomplete"))
_RESPONSES_FAILED = frozenset(("response.failed", "error"))
_RESPONSES_REASONING = frozenset(
    ("response.reasoning_text.delta", "response.reasoning_summary_text.delta")
)


class StreamParser:
    """Feed it each event's data in order; it returns a chunk when there is something to say."""

    def __init__(self, model: str, cf_ray: str | None = None) -> None:
        self.model = model
        self.cf_ray = cf_ray
        self.done = False
        self.events = 0
        self.text_chars = 0
        self._usage: Usage | None = None
        self._finish_reason: str | None = None
        self._model_seen: str | None = None
        self._tool_ids: dict[int, str] = {}
        self._next_whole_index = 0
        self._reasoning_chars = 0
        self._unknown_keys: set[str] = set()  # of events no family has
        # Responses events: the tool index and whether arguments came, per output_index.
        self._response_calls: dict[int, list[Any]] = {}

    def feed(self, data: str) -> ChatChunk | None:
        if self.done:
            return None
        self.events += 1
        try:
            event = json.loads(data)  # nearly every event is a JSON object: try that first
        except (ValueError, RecursionError) as exc:
            return self._not_json(data, exc)
        if type(event) is not dict:
            raise StreamError(
                f"Workers AI sent a stream event that is not an object: {preview(event)}"
            )
        text = event.get("response")
        if type(text) is str and event.keys() <= _PLAIN_TEXT_KEYS:
            # The common event, one token of text: skip the general path.
            self.text_chars += len(text)
            return ChatChunk(text=text) if text else None
        kind = event.get("type")
        if type(kind) is str:  # only the Responses form types its events
            chunk = self._responses_event(kind, event)
        else:
            usage = parse_usage(event.get("usage"))
            if usage is not None:
                self._usage = usage  # cumulative on OpenAI chunks: the latest is the total
            if isinstance(event.get("choices"), list):
                chunk = self._openai_event(event)
            else:
                chunk = self._native_event(event)
        if chunk is not None:
            self.text_chars += len(chunk.text)
            self._reasoning_chars += len(chunk.reasoning)
        return chunk

    def _not_json(self, data: str, exc: Exception) -> ChatChunk | None:
        stripped = data.strip()
        if not stripped:
            return None  # heartbeat
        if stripped == DONE:
            self.done = True
            return self._last_chunk()
        raise StreamError(
            f"Workers AI sent a stream event that is not JSON after {self._progress()}: "
            f"{stripped[:200]!r}"
        ) from exc

    def incomplete_error(self) -> StreamError:
        return StreamError(
            f"The stream ended without [DONE] after {self._progress()}; the answer is incomplete."
        )

    def _progress(self) -> str:
        return f"{self.events} events and {self.text_chars} characters of text"

    def _last_chunk(self) -> ChatChunk:
        if self._unknown_keys and not (self.text_chars or self._tool_ids or self._reasoning_chars):
            raise StreamError(
                f"The stream for {self.model} carried no text, reasoning or tool call, only "
                f"events of no known shape (keys: {', '.join(sorted(self._unknown_keys))})."
            )
        finish = self._finish_reason or ("tool_calls" if self._tool_ids else None)
        return ChatChunk(
            usage=self._usage,
            finish_reason=finish,
            model=self._model_seen or self.model,
            cf_ray=self.cf_ray,
            is_last=True,
        )

    def _delta(self, index: int, call_id: Any, name: Any, arguments: Any) -> ToolCallDelta | None:
        name = name if isinstance(name, str) and name else None
        call_id = call_id if isinstance(call_id, str) and call_id else None
        text = arguments_text(arguments)
        if call_id is None and name is None and not text:
            return None  # the native form's finalisation sentinel, or an empty piece
        if index not in self._tool_ids:
            self._tool_ids[index] = call_id or new_tool_call_id()
            call_id = self._tool_ids[index]  # a new call always carries its id first
        return ToolCallDelta(index=index, id=call_id, name=name, arguments=text)

    def _tool_deltas(self, raw: Any) -> list[ToolCallDelta]:
        if not isinstance(raw, list):
            return []
        deltas = []
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            function = item.get("function")
            if isinstance(function, Mapping):
                index = item.get("index")
                if not isinstance(index, int):
                    index = self._next_whole_index
                delta = self._delta(
                    index, item.get("id"), function.get("name"), function.get("arguments")
                )
            else:
                # Legacy: each call arrives whole; number them across the stream.
                index = self._next_whole_index
                delta = self._delta(index, item.get("id"), item.get("name"), item.get("arguments"))
            if delta is not None:
                deltas.append(delta)
                self._next_whole_index = max(self._next_whole_index, delta.index + 1)
        return deltas

    def _native_event(self, event: Mapping[str, Any]) -> ChatChunk | None:
        if event and not event.keys() & _NATIVE_KEYS:
            self._unknown_keys.update(map(str, event))
            return None
        response = event.get("response")
        text = response if isinstance(response, str) else arguments_text(response)
        if isinstance(event.get("finish_reason"), str):
            self._finish_reason = event["finish_reason"]
        tool_calls = self._tool_deltas(event.get("tool_calls"))
        if not text and not tool_calls:
            return None
        return ChatChunk(text=text, tool_calls=tool_calls)

    def _openai_event(self, event: Mapping[str, Any]) -> ChatChunk | None:
        if isinstance(event.get("model"), str):
            self._model_seen = event["model"]
        text, reasoning, tool_calls = "", "", []
        for choice in event["choices"]:
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            if isinstance(choice.get("finish_reason"), str):
                self._finish_reason = choice["finish_reason"]
            delta = choice.get("delta")
            if isinstance(delta, Mapping):
                content = delta.get("content")
                thought = delta.get("reasoning_content") or delta.get("reasoning")
                text += content if isinstance(content, str) else ""
                reasoning += thought if isinstance(thought, str) else ""
                tool_calls += self._tool_deltas(delta.get("tool_calls"))
            elif isinstance(choice.get("text"), str):
                text += choice["text"]
        if not (text or reasoning or tool_calls):
            return None
        return ChatChunk(text=text, reasoning=reasoning, tool_calls=tool_calls)

    def _responses_event(self, kind: str, event: Mapping[str, Any]) -> ChatChunk | None:
        delta = event.get("delta")
        if kind == "response.output_text.delta":
            return ChatChunk(text=delta) if isinstance(delta, str) and delta else None
        if kind in _RESPONSES_REASONING:
            return ChatChunk(reasoning=delta) if isinstance(delta, str) and delta else None
        if kind == "response.function_call_arguments.delta":
            call = self._response_calls.get(_as_index(event.get("output_index")))
            if call is None or not isinstance(delta, str) or not delta:
                return None
            call[1] = True
            piece = self._delta(call[0], None, None, delta)
            return ChatChunk(tool_calls=[piece]) if piece is not None else None
        if kind in ("response.output_item.added", "response.output_item.done"):
            return self._responses_item(kind, event)
        if kind in _RESPONSES_END:
            return self._responses_end(event.get("response"))
        if kind in _RESPONSES_FAILED:
            raise StreamError(f"Workers AI reported a failure mid-stream: {_failure(event)}")
        return None  # created, in_progress, content parts, *.done: nothing new to say

    def _responses_item(self, kind: str, event: Mapping[str, Any]) -> ChatChunk | None:
        """A function call starts (``added``: id and name) or, if its arguments never came as
        deltas, ends (``done``: the whole arguments)."""
        item = event.get("item")
        if not isinstance(item, Mapping) or item.get("type") != "function_call":
            return None
        position = _as_index(event.get("output_index"))
        call = self._response_calls.get(position)
        if call is None:
            call = self._response_calls[position] = [self._next_whole_index, False]
            self._next_whole_index += 1
            name = item.get("name")
        elif kind == "response.output_item.done" and not call[1]:
            name = None  # announced already; only the arguments are missing
        else:
            return None
        arguments = item.get("arguments") or ""
        call[1] = call[1] or bool(arguments)
        piece = self._delta(call[0], item.get("call_id") or item.get("id"), name, arguments)
        return ChatChunk(tool_calls=[piece]) if piece is not None else None

    def _responses_end(self, response: Any) -> ChatChunk:
        if isinstance(response, Mapping):
            usage = parse_usage(response.get("usage"))
            if usage is not None:
                self._usage = usage
            if isinstance(response.get("model"), str):
                self._model_seen = response["model"]
            self._finish_reason = responses_finish_reason(response, bool(self._tool_ids))
        self.done = True
        return self._last_chunk()


def _as_index(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _failure(event: Mapping[str, Any]) -> str:
    response = event.get("response")
    error = response.get("error") if isinstance(response, Mapping) else event
    if isinstance(error, Mapping) and error.get("message"):
        code = f" ({error['code']})" if error.get("code") else ""
        return f"{error['message']}{code}"
    return preview(dict(event))


class StoppingStreamParser(StreamParser):
    """A :class:`StreamParser` that applies stop sequences itself, for models whose API has no
    ``stop`` (the Responses API): text is cut before the first stop string, and nothing after
    it is given; the stream is still read to its end for the usage."""

    def __init__(self, model: str, cf_ray: str | None, stop: Sequence[str]) -> None:
        super().__init__(model, cf_ray)
        self._filter = StopFilter(stop)

    def feed(self, data: str) -> ChatChunk | None:
        chunk = super().feed(data)
        if chunk is None:
            return None
        if chunk.is_last:
            if self._filter.stopped:
                return replace(chunk, finish_reason="stop")
            return replace(chunk, text=self._filter.flush() + chunk.text)
        if not chunk.text:
            return chunk
        text, _ = self._filter.push(chunk.text)
        if not (text or chunk.reasoning or chunk.tool_calls):
            return None
        return replace(chunk, text=text)


def stream_parser(model: str, cf_ray: str | None, stop: Sequence[str] = ()) -> StreamParser:
    """The parser for one stream: one that applies ``stop`` itself when the client must."""
    return StoppingStreamParser(model, cf_ray, stop) if stop else StreamParser(model, cf_ray)


def chunk_from_result(result: ChatResult) -> ChatChunk:
    """A whole answer to a stream request (some models reply with JSON) as one last chunk."""
    return ChatChunk(
        text=result.text,
        reasoning=result.reasoning or "",
        tool_calls=[
            ToolCallDelta(index=i, id=call.id, name=call.name, arguments=call.raw_arguments)
            for i, call in enumerate(result.tool_calls)
        ],
        usage=result.usage,
        finish_reason=result.finish_reason,
        model=result.model,
        cf_ray=result.cf_ray,
        is_last=True,
    )
