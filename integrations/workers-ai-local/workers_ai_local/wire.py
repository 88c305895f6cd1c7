"""Pure builders for Cloudflare's non-streaming bodies (wire contract §2.2, §2.3, §4, §5).

Nothing here does I/O: the app collects backend events with :func:`collect` and hands the
result to the builder of the family the model answers in.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workers_ai._catalog import DEFAULT_REASONING_FIELD, ResultShape
from workers_ai_local.backends import (
    Finish,
    FinishReason,
    GenerationEvent,
    ReasoningPiece,
    TextPiece,
    ToolCall,
    ToolCallEvent,
    Usage,
)


def envelope(result: Any) -> dict[str, Any]:
    return {"result": result, "success": True, "errors": [], "messages": []}


def error_envelope(code: int | str, message: str) -> dict[str, Any]:
    return {
        "result": None,
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
    }


@dataclass(frozen=True)
class Completion:
    """A whole generation, gathered from the backend's events."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: FinishReason
    usage: Usage
    reasoning: str = ""


def collect(events: Iterable[GenerationEvent]) -> Completion:
    text: list[str] = []
    thought: list[str] = []
    calls: list[ToolCall] = []
    for event in events:
        if isinstance(event, ReasoningPiece):
            thought.append(event.text)
        elif isinstance(event, TextPiece):
            text.append(event.text)
        elif isinstance(event, ToolCallEvent):
            calls.append(event.call)
        elif isinstance(event, Finish):
            return Completion(
                "".join(text), tuple(calls), event.reason, event.usage, "".join(thought)
            )
    raise RuntimeError("backend generation ended without a Finish event")


def usage_body(usage: Usage, *, openai: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if openai:
        body["prompt_tokens_details"] = {"cached_tokens": 0}
        if usage.reasoning_tokens:
            body["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return body


def responses_usage(usage: Usage) -> dict[str, Any]:
    """Usage in the Responses spelling (``openai.types.responses.ResponseUsage``)."""
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def json_arguments(call: ToolCall) -> str:
    return json.dumps(dict(call.arguments), ensure_ascii=False)


def legacy_tool_call(call: ToolCall) -> dict[str, Any]:
    return {"name": call.name, "arguments": dict(call.arguments)}


def scout_tool_call(call: ToolCall) -> dict[str, Any]:
    # llama-4-scout: OpenAI-shaped, but arguments stay an object.
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": dict(call.arguments)},
    }


def openai_tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": json_arguments(call)},
    }


def native_response(text: str, json_mode: bool) -> Any:
    """In JSON mode the native ``response`` is the decoded object, not a string (§2.3 A).

    If the text is not valid JSON (e.g. cut by ``max_tokens``) it is returned as a string,
    which is what a client sees when a real model overruns.
    """
    if json_mode:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def text_result(
    family: ResultShape,
    completion: Completion,
    *,
    json_mode: bool,
    model: str,
    completion_id: str,
    created: int,
    reasoning_field: str = DEFAULT_REASONING_FIELD,
) -> dict[str, Any]:
    """The ``result`` of a native text-generation run in the model's family."""
    if family == "openai":
        return chat_completion(
            completion,
            model=model,
            completion_id=completion_id,
            created=created,
            reasoning_field=reasoning_field,
        )
    if family == "responses":
        return responses_object(completion, model=model, response_id=completion_id, created=created)
    result: dict[str, Any] = {"response": native_response(completion.text, json_mode)}
    if completion.tool_calls:
        shape = legacy_tool_call if family == "legacy" else scout_tool_call
        result["tool_calls"] = [shape(c) for c in completion.tool_calls]
    result["usage"] = usage_body(completion.usage)
    return result


def chat_completion(
    completion: Completion,
    *,
    model: str,
    completion_id: str,
    created: int,
    reasoning_field: str = DEFAULT_REASONING_FIELD,
) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` object; arguments are JSON strings (§2.3 C); reasoning in
    the field the model uses (kimi-k2.6: ``reasoning``; the others ``reasoning_content``)."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if completion.tool_calls else completion.text,
    }
    if completion.reasoning:
        message[reasoning_field] = completion.reasoning
    if completion.tool_calls:
        message["tool_calls"] = [openai_tool_call(c) for c in completion.tool_calls]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": completion.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage_body(completion.usage, openai=True),
    }


def response_status(reason: FinishReason) -> dict[str, Any]:
    """A Responses object's ``status`` (and ``incomplete_details``) for a finish reason."""
    if reason == "length":
        return {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}
    return {"status": "completed", "incomplete_details": None}


def reasoning_item(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
    }


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def function_call_item(item_id: str, call: ToolCall, arguments: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments,
        "status": "completed",
    }


def responses_object(
    completion: Completion | None,
    *,
    model: str,
    response_id: str,
    created: int,
    output: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An OpenAI Responses object (``openai.types.responses.Response``): reasoning item first,
    then the message or the function calls. ``completion`` None: the in-progress object
    a stream starts with (``output`` as given)."""
    if completion is not None and output is None:
        output = []
        if completion.reasoning:
            output.append(reasoning_item(f"rs_{response_id}", completion.reasoning))
        for i, call in enumerate(completion.tool_calls):
            output.append(function_call_item(f"fc_{response_id}_{i}", call, json_arguments(call)))
        if not completion.tool_calls:
            output.append(message_item(f"msg_{response_id}", completion.text))
    status: dict[str, Any] = {"status": "in_progress", "incomplete_details": None}
    if completion is not None:
        status = response_status(completion.finish_reason)
    return {
        "id": f"resp_{response_id}",
        "object": "response",
        "created_at": created,
        "model": model,
        "output": output or [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        **status,
        "usage": responses_usage(completion.usage) if completion is not None else None,
    }


def embedding_result(vectors: Sequence[Sequence[float]], pooling: str) -> dict[str, Any]:
    dims = len(vectors[0]) if vectors else 0
    return {"shape": [len(vectors), dims], "data": [list(v) for v in vectors], "pooling": pooling}


def openai_embeddings(
    vectors: Sequence[Sequence[float]], *, model: str, prompt_tokens: int, encoding_format: str
) -> dict[str, Any]:
    def encode(vector: Sequence[float]) -> list[float] | str:
        if encoding_format == "base64":  # little-endian float32, as OpenAI sends it
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return list(vector)

    return {
        "object": "list",
        "data": [
            {"object": "embedding", "embedding": encode(v), "index": i}
            for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
