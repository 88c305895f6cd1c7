"""SSE event data -> typed chunks. Pure and shared by the sync and async clients.

The parser takes each event's ``data`` (``_sse`` does the byte framing) and knows the stream
quirks: padding ``p`` fields, empty heartbeats, tool calls sent whole (legacy) or as incremental
deltas (native and OpenAI forms), usage repeated on every OpenAI chunk, and a final
``{"response": "", "usage": ...}`` event. Usage, finish_reason and model are held back and sent
once, on the last chunk, when ``[DONE]`` arrives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._parse import arguments_text, new_tool_call_id, parse_usage, preview
from .errors import StreamError
from .types import ChatChunk, ChatResult, ToolCallDelta, Usage

DONE = "[DONE]"
_PLAIN_TEXT_KEYS = frozenset(("response", "p"))


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
        usage = parse_usage(event.get("usage"))
        if usage is not None:
            self._usage = usage  # cumulative on OpenAI chunks: the latest is the total
        if isinstance(event.get("choices"), list):
            chunk = self._openai_event(event)
        else:
            chunk = self._native_event(event)
        if chunk is not None:
            self.text_chars += len(chunk.text)
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
