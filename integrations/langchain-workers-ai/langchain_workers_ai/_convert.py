"""LangChain types <-> Workers AI core types. Pure functions, no I/O, shared by sync and async.

Messages go out in the OpenAI-like wire form the core takes (``workers_ai.Message``); answers come
back as ``AIMessage`` (whole) or ``AIMessageChunk`` (streamed). Usage, ``model_name`` and the other
response metadata ride on the last chunk only: ``merge_dicts`` concatenates repeated strings and
adds repeated counts, so putting them on more than one chunk would corrupt the aggregate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.block_translators.openai import convert_to_openai_data_block
from langchain_core.messages.content import is_data_content_block
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.utils.function_calling import convert_to_openai_tool

from workers_ai import ChatChunk, ChatResult, Message, Usage
from workers_ai import ToolCall as CoreToolCall

# ChatMessage roles LangChain users write, mapped to the four roles Workers AI takes.
_ROLE_ALIASES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "tool": "tool",
}
# Roles whose consecutive messages are merged into one: several chat templates (Gemma, Mistral)
# refuse two user or two assistant turns in a row, and no template needs them apart.
_MERGEABLE_ROLES = frozenset(("system", "user", "assistant"))

TOOL_ERROR_PREFIX = "Error: "


# -- messages in ------------------------------------------------------------------------------


def _text_of(content: str | list[str | dict[str, Any]]) -> str:
    """The text of message content, for roles that only take text (system, assistant, tool)."""
    if isinstance(content, str):
        return content
    pieces = []
    for block in content:
        if isinstance(block, str):
            pieces.append(block)
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            pieces.append(block["text"])
        elif block.get("type") == "json" and "json" in block:
            pieces.append(json.dumps(block["json"], ensure_ascii=False))
    return "\n".join(pieces)


def _image_part(block: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI ``image_url`` part from an ``image_url`` part or a LangChain image block."""
    if block.get("type") == "image_url":
        image_url = block.get("image_url")
        url = image_url.get("url") if isinstance(image_url, Mapping) else image_url
        if not isinstance(url, str) or not url:
            raise ValueError(f"An image_url content part has no url: {dict(block)!r:.200}")
        return {"type": "image_url", "image_url": {"url": url}}
    converted = convert_to_openai_data_block(dict(block))
    if converted.get("type") != "image_url":
        raise ValueError(
            f"Workers AI chat models take text and images; got a {block.get('type')!r} block"
        )
    return {"type": "image_url", "image_url": {"url": converted["image_url"]["url"]}}


def user_content(content: str | list[str | dict[str, Any]]) -> str | list[dict[str, Any]]:
    """User content: a string when it is all text (every model takes that), else parts."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
        elif block.get("type") == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif block.get("type") == "image_url" or (
            block.get("type") == "image" and is_data_content_block(block)
        ):
            parts.append(_image_part(block))
        else:
            raise ValueError(
                "Workers AI chat models take text and images; got a content block of type "
                f"{block.get('type')!r}"
            )
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _wire_tool_calls(message: AIMessage) -> list[dict[str, Any]]:
    # Invalid tool calls are left out: Workers AI rejects arguments that are not JSON.
    return [
        {
            "id": call["id"],
            "type": "function",
            "function": {
                "name": call["name"],
                "arguments": json.dumps(call["args"], ensure_ascii=False),
            },
        }
        for call in message.tool_calls
    ]


def message_to_wire(message: BaseMessage) -> Message:
    """One LangChain message in Workers AI's wire form."""
    wire: Message
    if isinstance(message, SystemMessage):
        wire = {"role": "system", "content": _text_of(message.content)}
    elif isinstance(message, HumanMessage):
        wire = {"role": "user", "content": user_content(message.content)}
    elif isinstance(message, AIMessage):
        # Assistant content goes back as text only (not null: Cloudflare rejects that);
        # tool_use blocks are represented by tool_calls; reasoning rides along for the core to
        # send back where the model wants it.
        wire = {"role": "assistant", "content": _text_of(message.content)}
        if message.tool_calls:
            wire["tool_calls"] = _wire_tool_calls(message)
        if reasoning := reasoning_of(message):
            wire["reasoning"] = reasoning
    elif isinstance(message, ToolMessage):
        text = _text_of(message.content)
        if message.status == "error" and not text.startswith(TOOL_ERROR_PREFIX):
            # Workers AI has no error flag on tool results: say it in the text.
            text = TOOL_ERROR_PREFIX + text
        wire = {"role": "tool", "content": text, "tool_call_id": message.tool_call_id}
    elif isinstance(message, ChatMessage):
        role = _ROLE_ALIASES.get(message.role.lower())
        if role is None:
            raise ValueError(
                f"ChatMessage role {message.role!r} is not one Workers AI takes "
                f"({', '.join(sorted(_ROLE_ALIASES))})"
            )
        content = user_content(message.content) if role == "user" else _text_of(message.content)
        wire = {"role": role, "content": content}
    else:
        raise ValueError(f"Workers AI cannot take a {type(message).__name__}")
    if message.name:
        wire["name"] = message.name
    return wire


def reasoning_of(message: AIMessage) -> str:
    """An answer's reasoning: ``additional_kwargs["reasoning_content"]`` (what this package
    writes), else its ``reasoning`` content blocks (``output_version="v1"`` messages)."""
    text = message.additional_kwargs.get("reasoning_content")
    if isinstance(text, str) and text:
        return text
    if isinstance(message.content, str):
        return ""
    return "".join(
        block["reasoning"]
        for block in message.content
        if isinstance(block, dict)
        and block.get("type") == "reasoning"
        and isinstance(block.get("reasoning"), str)
    )


def _as_parts(content: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return content
    return [{"type": "text", "text": content or ""}]


def _mergeable(previous: Message, current: Message) -> bool:
    return (
        previous["role"] == current["role"]
        and current["role"] in _MERGEABLE_ROLES
        and not previous.get("tool_calls")
        and not current.get("tool_calls")
        and previous.get("name") == current.get("name")
    )


def merge_consecutive(messages: Sequence[Message]) -> list[Message]:
    """Join runs of same-role system/user/assistant messages (same name, no tool calls)."""
    merged: list[Message] = []
    for message in messages:
        if merged and _mergeable(merged[-1], message):
            previous = merged[-1]
            before, after = previous.get("content"), message.get("content")
            if isinstance(before, str) and isinstance(after, str):
                previous["content"] = f"{before}\n\n{after}"
            else:
                previous["content"] = _as_parts(before) + _as_parts(after)
        else:
            merged.append(cast(Message, dict(message)))
    return merged


def messages_to_wire(messages: Sequence[BaseMessage]) -> list[Message]:
    if not messages:
        raise ValueError("No messages: send at least one message")
    return merge_consecutive([message_to_wire(m) for m in messages])


# -- tools ------------------------------------------------------------------------------------


def tool_to_wire(tool: Any) -> dict[str, Any]:
    """A Pydantic model, function, BaseTool, TypedDict or JSON Schema as an OpenAI tool."""
    formatted = convert_to_openai_tool(tool)
    # Legacy Workers AI schemas list ``description`` as required.
    formatted["function"].setdefault("description", "")
    return formatted


# -- answers out ------------------------------------------------------------------------------


def usage_metadata(usage: Usage) -> UsageMetadata:
    metadata = UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )
    if usage.cached_tokens is not None:
        metadata["input_token_details"] = InputTokenDetails(cache_read=usage.cached_tokens)
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    return metadata


def response_metadata(
    *, model: str | None, finish_reason: str | None, cf_ray: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"model_name": model}
    if finish_reason is not None:
        metadata["finish_reason"] = finish_reason
    if cf_ray is not None:
        metadata["cf_ray"] = cf_ray
    return metadata


def _tool_calls_out(calls: Sequence[CoreToolCall]) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in calls:
        if call.error is None:
            valid.append(tool_call(name=call.name, args=call.arguments, id=call.id))
        else:
            invalid.append(
                invalid_tool_call(
                    name=call.name, args=call.raw_arguments, id=call.id, error=call.error
                )
            )
    return valid, invalid


def ai_message(result: ChatResult) -> AIMessage:
    """A whole answer as an ``AIMessage``."""
    valid, invalid = _tool_calls_out(result.tool_calls)
    additional: dict[str, Any] = {}
    if result.reasoning:
        additional["reasoning_content"] = result.reasoning
    return AIMessage(
        content=result.text,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        additional_kwargs=additional,
        usage_metadata=usage_metadata(result.usage) if result.usage else None,
        response_metadata=response_metadata(
            model=result.model, finish_reason=result.finish_reason, cf_ray=result.cf_ray
        ),
    )


class BlockIndexes:
    """Tool-call chunk indexes that do not collide with content-block indexes.

    With ``output_version="v1"`` LangChain numbers a stream's content blocks by runs of one
    type (reasoning 0, text 1, ...) but keeps a tool-call chunk's own ``index``; blocks with the
    same index merge, so a tool call at index 0 after reasoning would be merged into the
    reasoning block and lost. Under v1 the tool calls are numbered after the runs before them.
    """

    __slots__ = ("_last", "_offset", "_runs", "_v1")

    def __init__(self, v1: bool) -> None:
        self._v1 = v1
        self._runs = 0
        self._last = ""
        self._offset: int | None = None

    def offset(self, chunk: ChatChunk) -> int:
        if not self._v1:
            return 0
        if self._offset is None:
            for kind, present in (("reasoning", chunk.reasoning), ("text", chunk.text)):
                if present and kind != self._last:
                    self._runs, self._last = self._runs + 1, kind
            if chunk.tool_calls:
                self._offset = self._runs
        return self._offset or 0


def message_chunk(
    chunk: ChatChunk, *, include_usage: bool = True, tool_index_offset: int = 0
) -> AIMessageChunk:
    """One streamed delta. Only the last chunk carries usage and response metadata."""
    if not (chunk.is_last or chunk.tool_calls or chunk.reasoning):
        # Nearly every chunk is plain text: skip the empty containers LangChain would validate.
        return AIMessageChunk(content=chunk.text)
    additional: dict[str, Any] = {}
    if chunk.reasoning:
        additional["reasoning_content"] = chunk.reasoning
    tool_call_chunks = [
        tool_call_chunk(
            name=delta.name,
            args=delta.arguments,
            id=delta.id,
            index=delta.index + tool_index_offset,
        )
        for delta in chunk.tool_calls
    ]
    if not chunk.is_last:
        return AIMessageChunk(
            content=chunk.text, additional_kwargs=additional, tool_call_chunks=tool_call_chunks
        )
    usage = usage_metadata(chunk.usage) if include_usage and chunk.usage else None
    return AIMessageChunk(
        content=chunk.text,
        additional_kwargs=additional,
        tool_call_chunks=tool_call_chunks,
        usage_metadata=usage,
        response_metadata=response_metadata(
            model=chunk.model, finish_reason=chunk.finish_reason, cf_ray=chunk.cf_ray
        ),
        chunk_position="last",
    )
