"""The OpenAI Responses API family (gpt-oss): request bodies and whole results. Pure functions.

gpt-oss takes and returns the Responses shape on ``/ai/run`` (Cloudflare's changelog,
2025-08-05): ``input`` items in (messages, ``function_call`` and ``function_call_output`` items,
``reasoning`` items), ``output`` items out. The shapes follow the OpenAI SDK's types
(``openai.types.responses``): tools are flat (``{"type": "function", "name", ...}``), JSON mode
is ``text.format``, the output budget ``max_output_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._chat_options import ChatOptions, normalize_tool, normalize_tool_choice, split_json_schema
from .errors import InvalidRequestError

# Chat options the Responses API has no field for: refused rather than silently dropped
# (``stop`` is applied by the client itself: see _request.client_side_stop).
_NOT_IN_RESPONSES = (
    "top_k",
    "seed",
    "repetition_penalty",
    "frequency_penalty",
    "presence_penalty",
    "raw",
    "lora",
)


def _text_parts(content: Any, kind: str) -> str | list[dict[str, Any]]:
    """Message content as Responses content: text stays a string; parts become input parts."""
    if isinstance(content, str) or content is None:
        return content or ""
    parts: list[dict[str, Any]] = []
    for part in content:
        if part.get("type") == "text":
            parts.append({"type": kind, "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            parts.append({"type": "input_image", "image_url": url})
    return parts


def _text(content: Any) -> str:
    if isinstance(content, str) or content is None:
        return content or ""
    return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")


def input_items(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Wire messages (already normalized) as Responses ``input`` items.

    An assistant turn becomes its reasoning item (when it carries tool calls and reasoning),
    its text, then one ``function_call`` item per call; a tool result becomes a
    ``function_call_output`` item with the call's id.
    """
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id") or "",
                    "output": _text(message.get("content")),
                }
            )
        elif role == "assistant":
            calls = message.get("tool_calls") or []
            reasoning = message.get("reasoning")
            if reasoning and calls:
                items.append(
                    {
                        "type": "reasoning",
                        "summary": [],
                        "content": [{"type": "reasoning_text", "text": reasoning}],
                    }
                )
            text = _text(message.get("content"))
            if text or not calls:
                items.append({"role": "assistant", "content": text})
            for call in calls:
                function = call["function"]
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.get("id") or function["name"],
                        "name": function["name"],
                        "arguments": function.get("arguments") or "{}",
                    }
                )
        else:
            items.append(
                {"role": role, "content": _text_parts(message.get("content"), "input_text")}
            )
    return items


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool["function"]
    flat = {"type": "function", "name": function["name"]}
    for key in ("description", "parameters", "strict"):
        if key in function:
            flat[key] = function[key]
    return flat


def _tool_choice(choice: str | Mapping[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
        return {"type": "function", "name": name}
    return choice


def _text_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """JSON mode as the Responses API's ``text.format``: ``{type, name, schema, strict}``."""
    kind = response_format.get("type")
    if kind in ("text", "json_object") and "json_schema" not in response_format:
        return {"format": {"type": kind}}
    if kind not in ("json_schema", "json_object"):
        raise InvalidRequestError(
            f"response_format type must be 'json_object' or 'json_schema', got {kind!r}"
        )
    name, schema, strict = split_json_schema(response_format.get("json_schema"))
    fmt: dict[str, Any] = {"type": "json_schema", "name": name, "schema": schema}
    if strict is not None:
        fmt["strict"] = strict
    return {"format": fmt}


def responses_body(
    chat_input: Mapping[str, Any],
    model: str,
    options: ChatOptions,
    effort: str | None,
    *,
    stream: bool,
) -> dict[str, Any]:
    """A Responses request from the chat input (``prompt`` or normalized ``messages``)."""
    refused = [name for name in _NOT_IN_RESPONSES if options.get(name)]
    if refused:
        raise InvalidRequestError(
            f"{model} answers through the Responses API, which has no "
            f"{', '.join(refused)}; leave {'it' if len(refused) == 1 else 'them'} out for "
            "this model."
        )
    body: dict[str, Any] = {
        "input": chat_input["prompt"]
        if "prompt" in chat_input
        else input_items(chat_input["messages"])
    }
    if options.get("temperature") is not None:
        body["temperature"] = options["temperature"]
    if options.get("top_p") is not None:
        body["top_p"] = options["top_p"]
    if options.get("max_tokens") is not None:
        body["max_output_tokens"] = options["max_tokens"]
    if tools := options.get("tools"):
        body["tools"] = [_tool(normalize_tool(t)) for t in tools]
    if (choice := options.get("tool_choice")) is not None:
        body["tool_choice"] = _tool_choice(normalize_tool_choice(choice))
    if (response_format := options.get("response_format")) is not None:
        body["text"] = _text_format(response_format)
    if effort is not None:
        body["reasoning"] = {"effort": effort}
    if stream:
        body["stream"] = True
    return body


# -- reading results (whole and streamed) ----------------------------------------------------------


def content_text(item: Mapping[str, Any], kinds: tuple[str, ...]) -> str:
    parts = item.get("content")
    if not isinstance(parts, list):
        return ""
    return "".join(
        p["text"]
        for p in parts
        if isinstance(p, Mapping) and p.get("type") in kinds and isinstance(p.get("text"), str)
    )


def reasoning_text(item: Mapping[str, Any]) -> str:
    """A reasoning item's text: its ``reasoning_text`` content, else its summary."""
    text = content_text(item, ("reasoning_text",))
    if text:
        return text
    summary = item.get("summary")
    if not isinstance(summary, list):
        return ""
    return "\n".join(
        s["text"] for s in summary if isinstance(s, Mapping) and isinstance(s.get("text"), str)
    )


def finish_reason(response: Mapping[str, Any], called_tools: bool) -> str | None:
    """A Responses status as a chat finish reason."""
    if called_tools:
        return "tool_calls"
    status = response.get("status")
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, Mapping) else None
        return "length" if reason in (None, "max_output_tokens") else str(reason)
    if status in ("completed", None):
        return "stop"
    return str(status)
