"""LlamaIndex messages and responses <-> the ``workers_ai`` core's types. Pure functions, no I/O.

Conventions kept here, once:
- A response's ``raw`` is the wire ``result`` with ``usage`` normalized to
  ``{prompt_tokens, completion_tokens, total_tokens}`` at its top (what ``TokenCountingHandler``
  reads); the same counts, with ``finish_reason``, ``model`` and ``cf_ray``, are in the response's
  ``additional_kwargs``. A stream carries them on its last response only.
- Tool calls are ``ToolCallBlock``s in ``message.blocks`` (LlamaIndex 0.14) and, in OpenAI form,
  in ``message.additional_kwargs["tool_calls"]`` (what structured streaming and older code read).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from io import IOBase
from typing import Any

from llama_index.core.base.llms.types import (
    CachePoint,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json
from llama_index.core.utils import resolve_binary

from workers_ai import ChatChunk, ChatResult, Message, ToolCall, ToolCallDelta, Usage

# LlamaIndex roles -> the four roles Workers AI takes.
_WIRE_ROLES: dict[MessageRole, str] = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
}


# -- requests -------------------------------------------------------------------------------------


def to_core_messages(messages: Sequence[ChatMessage]) -> list[Message]:
    """Chat messages in Workers AI's wire form (text, images, tool calls and tool results)."""
    return [to_core_message(m) for m in messages]


def to_core_message(message: ChatMessage) -> Message:
    wire: Message = {"role": _WIRE_ROLES[message.role], "content": _content(message)}
    tool_calls = wire_tool_calls(message)
    if tool_calls:
        wire["tool_calls"] = tool_calls
    tool_call_id = message.additional_kwargs.get("tool_call_id")
    if isinstance(tool_call_id, str) and tool_call_id:
        wire["tool_call_id"] = tool_call_id
    name = message.additional_kwargs.get("name")
    if isinstance(name, str) and name:
        wire["name"] = name
    reasoning = "".join(b.content or "" for b in message.blocks if isinstance(b, ThinkingBlock))
    if reasoning:
        wire["reasoning"] = reasoning  # the core sends it back where the model wants it
    return wire


def _content(message: ChatMessage) -> str | list[dict[str, Any]]:
    """Plain text when the message is only text, else a list of text and image parts."""
    parts: list[dict[str, Any]] = []
    for block in _blocks(message):
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"type": "image_url", "image_url": {"url": _image_url(block)}})
        elif isinstance(block, (ToolCallBlock, ThinkingBlock, CachePoint)):
            continue  # tool calls and reasoning travel in their own fields; cache hints unsent
        else:
            raise ValueError(
                f"Workers AI chat models take text and images; got a {block.block_type!r} block"
            )
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def _blocks(message: ChatMessage) -> list[Any]:
    """The message's blocks, without the repeats of legacy ``additional_kwargs["images"]``.

    ChatMessage appends one ImageBlock per legacy image each time it is validated, and
    llama-index-core re-validates the caller's message (its instrumentation events do), so the
    same images pile up at the end; each repeat of that tail is dropped here.
    """
    blocks = list(message.blocks)
    legacy = message.additional_kwargs.get("images")
    count = len(legacy) if isinstance(legacy, list) else 0
    if count:
        while len(blocks) >= 2 * count and all(
            isinstance(b, ImageBlock) for b in blocks[-2 * count :]
        ):
            if blocks[-count:] != blocks[-2 * count : -count]:
                break
            del blocks[-count:]
    return blocks


def _image_url(block: ImageBlock) -> str:
    """An ``image_url`` part's url: a data URL with an image media type, or an http(s) URL as
    given (fetching it is the server's job).

    Bytes (raw or already base64, as ImageBlock takes both), a file object, a path, or a data URL
    all become ``data:image/...;base64,...``; the media type is ``image_mimetype`` when given,
    else read from the data URL, else guessed from the bytes.
    """
    if block.image is None and block.path is None and block.url is not None:
        url = str(block.url)
        if not url.startswith("data:"):
            return url
        header = url.partition(",")[0]
        if header.startswith("data:image/") and header.endswith(";base64"):
            return url
    data = _image_bytes(block)
    mimetype = block.image_mimetype or _guess_image_mimetype(data)
    if mimetype is None:
        raise ValueError(
            "Could not tell the image's type from its bytes; pass image_mimetype= "
            "(e.g. 'image/png') on the ImageBlock"
        )
    return f"data:{mimetype};base64,{base64.b64encode(data).decode('ascii')}"


def _image_bytes(block: ImageBlock) -> bytes:
    """The decoded image bytes, whichever way the block holds them."""
    if isinstance(block.image, IOBase):
        # ImageBlock.resolve_image hands a file object back unread and un-encoded.
        block.image.seek(0)
        content = block.image.read()
        raw = content.encode() if isinstance(content, str) else bytes(content)
        data = resolve_binary(raw_bytes=raw).read()  # decodes it if it was base64 text
    else:
        data = block.resolve_image(as_base64=False).read()
    if not data:
        raise ValueError("The ImageBlock holds no image data")
    return data


def _guess_image_mimetype(data: bytes) -> str | None:
    mime = ImageBlock(image=data).image_mimetype  # LlamaIndex's own guess from the bytes
    return mime if isinstance(mime, str) and mime.startswith("image/") else None


def _arguments_text(kwargs: dict[str, Any] | str) -> str:
    if isinstance(kwargs, str):
        return kwargs if kwargs.strip() else "{}"
    return json.dumps(kwargs, ensure_ascii=False)


def wire_tool_calls(message: ChatMessage) -> list[dict[str, Any]]:
    """An assistant message's tool calls in OpenAI form: its ToolCallBlocks, else the legacy
    ``additional_kwargs["tool_calls"]``."""
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    if blocks:
        return [
            {
                "id": b.tool_call_id or b.tool_name,
                "type": "function",
                "function": {"name": b.tool_name, "arguments": _arguments_text(b.tool_kwargs)},
            }
            for b in blocks
        ]
    legacy = message.additional_kwargs.get("tool_calls")
    return [dict(c) for c in legacy if isinstance(c, dict)] if isinstance(legacy, list) else []


# -- responses ------------------------------------------------------------------------------------


def usage_counts(usage: Usage) -> dict[str, int]:
    counts = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        counts["cached_tokens"] = usage.cached_tokens
    if usage.reasoning_tokens is not None:
        counts["reasoning_tokens"] = usage.reasoning_tokens
    return counts


def _response_kwargs(
    usage: Usage | None, finish_reason: str | None, model: str | None, cf_ray: str | None
) -> dict[str, Any]:
    found: dict[str, Any] = usage_counts(usage) if usage is not None else {}
    for key, value in (("finish_reason", finish_reason), ("model", model), ("cf_ray", cf_ray)):
        if value is not None:
            found[key] = value
    return found


def _tool_call_dict(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _assistant_message(
    text: str, reasoning: str, calls: Sequence[tuple[str, str, dict[str, Any] | str, str]]
) -> ChatMessage:
    """``calls`` are (id, name, kwargs as a dict or as text, arguments text)."""
    blocks: list[Any] = []
    if reasoning:
        blocks.append(ThinkingBlock(content=reasoning))
    if text or not calls:
        blocks.append(TextBlock(text=text))
    blocks.extend(
        ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=kwargs)
        for call_id, name, kwargs, _ in calls
    )
    extra: dict[str, Any] = {}
    if calls:
        extra["tool_calls"] = [_tool_call_dict(i, n, a) for i, n, _, a in calls]
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def _call_kwargs(call: ToolCall) -> dict[str, Any] | str:
    # Arguments that are not a JSON object stay as text, so the caller can see what came back.
    return call.arguments if call.error is None else call.raw_arguments


def chat_response(result: ChatResult) -> ChatResponse:
    """A whole answer as a ChatResponse."""
    calls = [(c.id, c.name, _call_kwargs(c), c.raw_arguments) for c in result.tool_calls]
    raw = dict(result.raw)
    if result.usage is not None:
        raw["usage"] = usage_counts(result.usage)
    return ChatResponse(
        message=_assistant_message(result.text, result.reasoning or "", calls),
        raw=raw,
        additional_kwargs=_response_kwargs(
            result.usage, result.finish_reason, result.model, result.cf_ray
        ),
    )


@dataclass
class _PartialCall:
    id: str
    name: str
    arguments: str = ""

    def kwargs(self) -> dict[str, Any] | str:
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return self.arguments  # still arriving; get_tool_calls_from_response reads it partially
        return value if isinstance(value, dict) else self.arguments


class StreamAccumulator:
    """Turns core chunks into LlamaIndex stream responses, each holding the answer so far."""

    def __init__(self) -> None:
        self.text = ""
        self.reasoning = ""
        self._calls: dict[int, _PartialCall] = {}

    def feed(self, chunk: ChatChunk) -> ChatResponse:
        self.text += chunk.text
        if chunk.is_last or chunk.tool_calls or chunk.reasoning or self._calls or self.reasoning:
            return self._response(chunk)
        # Nearly every chunk is plain text: the same response, built without the general path.
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, blocks=[TextBlock(text=self.text)]),
            delta=chunk.text,
            raw=_chunk_raw(chunk),
        )

    def _response(self, chunk: ChatChunk) -> ChatResponse:
        self.reasoning += chunk.reasoning
        for delta in chunk.tool_calls:
            call = self._calls.get(delta.index)
            if call is None:
                call = self._calls[delta.index] = _PartialCall(delta.id or "", delta.name or "")
            elif delta.name and not call.name:
                call.name = delta.name
            call.arguments += delta.arguments
        calls = [(c.id, c.name, c.kwargs(), c.arguments or "{}") for c in self._calls.values()]
        additional = _response_kwargs(chunk.usage, chunk.finish_reason, chunk.model, chunk.cf_ray)
        if chunk.reasoning:
            additional["thinking_delta"] = chunk.reasoning
        return ChatResponse(
            message=_assistant_message(self.text, self.reasoning, calls),
            delta=chunk.text,
            raw=_chunk_raw(chunk),
            additional_kwargs=additional,
        )


def _chunk_raw(chunk: ChatChunk) -> dict[str, Any]:
    """The chunk as plain data, fields that are None left out."""
    raw: dict[str, Any] = {
        "text": chunk.text,
        "reasoning": chunk.reasoning,
        "tool_calls": [_delta_raw(delta) for delta in chunk.tool_calls],
        "is_last": chunk.is_last,
    }
    for name in ("finish_reason", "model", "cf_ray"):
        value = getattr(chunk, name)
        if value is not None:
            raw[name] = value
    if chunk.usage is not None:
        raw["usage"] = usage_counts(chunk.usage)
    return raw


def _delta_raw(delta: ToolCallDelta) -> dict[str, Any]:
    raw: dict[str, Any] = {"index": delta.index, "arguments": delta.arguments}
    if delta.id is not None:
        raw["id"] = delta.id
    if delta.name is not None:
        raw["name"] = delta.name
    return raw


def completion_response(response: ChatResponse) -> CompletionResponse:
    """A chat answer seen as a completion (text, delta, raw and usage kept)."""
    return CompletionResponse(
        text=response.message.content or "",
        delta=response.delta,
        raw=response.raw,
        additional_kwargs=response.additional_kwargs,
    )


# -- tool calls -----------------------------------------------------------------------------------


def _kwargs_dict(kwargs: Any) -> dict[str, Any]:
    if isinstance(kwargs, dict):
        return kwargs
    if isinstance(kwargs, str) and kwargs.strip():
        try:
            value = parse_partial_json(kwargs)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def tool_selections(message: ChatMessage) -> list[ToolSelection]:
    """The tool calls of an answer (whole or partial), from its blocks or additional_kwargs."""
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    if blocks:
        return [
            ToolSelection(
                tool_id=b.tool_call_id or b.tool_name,
                tool_name=b.tool_name,
                tool_kwargs=_kwargs_dict(b.tool_kwargs),
            )
            for b in blocks
        ]
    selections = []
    for call in wire_tool_calls(message):
        nested = call.get("function")
        function: dict[str, Any] = nested if isinstance(nested, dict) else call
        name = function.get("name")
        if isinstance(name, str) and name:
            call_id = call.get("id")
            selections.append(
                ToolSelection(
                    tool_id=call_id if isinstance(call_id, str) and call_id else name,
                    tool_name=name,
                    tool_kwargs=_kwargs_dict(function.get("arguments")),
                )
            )
    return selections


def first_tool_call_only(response: ChatResponse) -> ChatResponse:
    """The response with every tool call after the first removed (parallel calls not allowed)."""
    message = response.message
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    legacy = message.additional_kwargs.get("tool_calls")
    if len(blocks) <= 1 and not (isinstance(legacy, list) and len(legacy) > 1):
        return response
    kept_blocks: list[Any] = []
    seen_call = False
    for block in message.blocks:
        if isinstance(block, ToolCallBlock):
            if seen_call:
                continue
            seen_call = True
        kept_blocks.append(block)
    extra = dict(message.additional_kwargs)
    if isinstance(legacy, list):
        extra["tool_calls"] = legacy[:1]
    trimmed = message.model_copy(update={"blocks": kept_blocks, "additional_kwargs": extra})
    return response.model_copy(update={"message": trimmed})
