"""Request bodies -> validated backend requests, rejecting what Cloudflare's schemas reject.

Errors are :class:`ApiError` 5006 with text shaped like Cloudflare's JSON-schema validator
(``AiError: Bad input: Error: ...``), so clients meet the same failures as in production.
Unknown fields are ignored, as they are upstream (the schemas allow additional properties).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from workers_ai._catalog import context_window, embedding_batch_limit, model_spec, result_shape
from workers_ai_local.backends import (
    GenerationRequest,
    JsonFormat,
    Message,
    NamedTool,
    Role,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from workers_ai_local.echo import count_tokens
from workers_ai_local.errors import ApiError, bad_input

DEFAULT_MAX_TOKENS = 256  # Cloudflare's documented default for text generation
# For models whose window we do not know: generous, so only absurd requests are refused.
DEFAULT_CONTEXT_WINDOW = 128000
ROLES: tuple[str, ...] = get_args(Role)
Pooling = Literal["mean", "cls"]
EncodingFormat = Literal["float", "base64"]

# (minimum, maximum, integer?) per sampling option, from the text-generation input schemas.
_RANGES: dict[str, tuple[float, float, bool]] = {
    "temperature": (0, 5, False),
    "top_p": (0, 2, False),
    "top_k": (1, 50, True),
    "seed": (1, 9999999999, True),
    "repetition_penalty": (0, 2, False),
    "frequency_penalty": (-2, 2, False),
    "presence_penalty": (-2, 2, False),
}


@dataclass(frozen=True)
class EmbeddingRequest:
    texts: tuple[str, ...]
    pooling: Pooling = "mean"
    encoding_format: EncodingFormat = "float"


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def mismatch(path: str, value: Any, expected: str) -> ApiError:
    return bad_input(f"Type mismatch of '{path}', '{json_type(value)}' not in '{expected}'")


def wants_stream(body: Mapping[str, Any]) -> bool:
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise mismatch("/stream", stream, "boolean")
    return stream


def include_usage(body: Mapping[str, Any]) -> bool:
    """OpenAI's ``stream_options.include_usage``."""
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise mismatch("/stream_options", options, "object")
    flag = options.get("include_usage", False)
    if not isinstance(flag, bool):
        raise mismatch("/stream_options/include_usage", flag, "boolean")
    return flag


def parse_generation(
    body: Mapping[str, Any], model: str, *, openai_route: bool
) -> GenerationRequest:
    """Validate a text-generation body for ``/ai/run`` (``openai_route=False``) or
    ``/ai/v1/chat/completions``; JSON-schema envelopes follow the model's family."""
    messages = _prompt_or_messages(body, openai_route)
    tools = _tools(body.get("tools"))
    options: dict[str, Any] = {}
    for key, (low, high, integer) in _RANGES.items():
        if key in body and body[key] is not None:
            options[key] = _number(body[key], f"/{key}", low, high, integer)
    openai_shaped = openai_route or result_shape(model) in ("openai", "responses")
    max_tokens = _max_tokens(body, openai_shaped)
    check_context_window(model, messages, max_tokens)
    effort = _effort(model, body.get("reasoning_effort"), "/reasoning_effort")
    return GenerationRequest(
        model=model,
        messages=messages,
        max_tokens=max_tokens,
        tools=tools,
        tool_choice=_tool_choice(body.get("tool_choice"), tools),
        response_format=_response_format(body.get("response_format"), openai_shaped),
        stop=_stop(body.get("stop")),
        raw=_raw(body.get("raw", False)),
        reasoning=_thinks(model, body.get("chat_template_kwargs")),
        reasoning_effort=effort,
        **options,
    )


def _effort(model: str, raw: Any, path: str) -> str | None:
    """A ``reasoning_effort``, refused as Cloudflare's schema would: a value outside the
    model's efforts (and their aliases)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise mismatch(path, raw, "string")
    spec = model_spec(model)
    reasoning = spec.reasoning if spec is not None else None
    if reasoning is not None and reasoning.efforts and not reasoning.accepts(raw):
        allowed = ", ".join(f"'{e}'" for e in (*reasoning.efforts, *reasoning.aliases))
        raise bad_input(f"Value '{raw}' at '{path}' must be one of {allowed}")
    return raw


def _thinks(model: str, template_kwargs: Any) -> bool:
    """Whether ``model`` reasons for this request: a reasoning model does unless its
    ``chat_template_kwargs`` switch turns it off."""
    spec = model_spec(model)
    if spec is None or spec.reasoning is None:
        return False
    if template_kwargs is None:
        return True
    if not isinstance(template_kwargs, dict):
        raise mismatch("/chat_template_kwargs", template_kwargs, "object")
    toggle = spec.reasoning.toggle
    if toggle is None or toggle not in template_kwargs:
        return True
    value = template_kwargs[toggle]
    if not isinstance(value, bool):
        raise mismatch(f"/chat_template_kwargs/{toggle}", value, "boolean")
    return value or spec.reasoning.mandatory


# -- the Responses API (gpt-oss: /ai/run with ``input``, and /ai/v1/responses) -----------------


def is_responses_body(body: Mapping[str, Any]) -> bool:
    return "input" in body and "messages" not in body and "prompt" not in body


def parse_responses(body: Mapping[str, Any], model: str) -> GenerationRequest:
    """Validate a Responses request (``input``, ``instructions``, ``reasoning``, flat
    ``tools``, ``text.format``, ``max_output_tokens``)."""
    if "input" not in body:
        raise bad_input("required properties at '/' are 'input'")
    messages = _responses_input(body["input"])
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise mismatch("/instructions", instructions, "string")
        messages = (Message("system", instructions), *messages)
    tools = _tools(body.get("tools"))
    options: dict[str, Any] = {}
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            low, high, integer = _RANGES[key]
            options[key] = _number(body[key], f"/{key}", low, high, integer)
    max_tokens = DEFAULT_MAX_TOKENS
    if body.get("max_output_tokens") is not None:
        max_tokens = int(_number(body["max_output_tokens"], "/max_output_tokens", 1, 1e12, True))
    check_context_window(model, messages, max_tokens)
    reasoning = body.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, dict):
        raise mismatch("/reasoning", reasoning, "object")
    effort = _effort(model, (reasoning or {}).get("effort"), "/reasoning/effort")
    return GenerationRequest(
        model=model,
        messages=messages,
        max_tokens=max_tokens,
        tools=tools,
        tool_choice=_tool_choice(body.get("tool_choice"), tools),
        response_format=_text_format(body.get("text")),
        reasoning=_thinks(model, None),
        reasoning_effort=effort,
        **options,
    )


def _responses_input(raw: Any) -> tuple[Message, ...]:
    if isinstance(raw, str):
        if not raw:
            raise bad_input("Length of '/input' must be >= 1")
        return (Message("user", raw),)
    if not isinstance(raw, list):
        raise mismatch("/input", raw, "string")
    if not raw:
        raise bad_input("Array at '/input' must have at least 1 item")
    messages: list[Message] = []
    for i, item in enumerate(raw):
        where = f"/input/{i}"
        if not isinstance(item, dict):
            raise mismatch(where, item, "object")
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_responses_message(item, where))
        elif kind == "function_call":
            call = _responses_call(item, where)
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant" and last.tool_calls:
                messages[-1] = Message("assistant", last.text, (), (*last.tool_calls, call))
            else:
                messages.append(Message("assistant", "", (), (call,)))
        elif kind == "function_call_output":
            call_id = _optional_str(item.get("call_id"), f"{where}/call_id")
            output = item.get("output")
            if not isinstance(output, str):
                raise mismatch(f"{where}/output", output, "string")
            messages.append(Message("tool", output, tool_call_id=call_id))
        elif kind != "reasoning":  # earlier reasoning is context only
            raise bad_input(
                f"Value at '{where}/type' must be one of 'message', 'function_call', "
                "'function_call_output', 'reasoning'"
            )
    if not messages:
        raise bad_input("'/input' holds no message")
    return tuple(messages)


def _responses_message(item: Mapping[str, Any], where: str) -> Message:
    role = item.get("role")
    if role not in ROLES:
        allowed = ", ".join(f"'{r}'" for r in ROLES if r != "tool")
        raise bad_input(f"Value at '{where}/role' must be one of {allowed}")
    text, images = _content(item.get("content"), f"{where}/content", _RESPONSES_PARTS)
    return Message(cast(Role, role), text, images)


def _responses_call(item: Mapping[str, Any], where: str) -> ToolCall:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise bad_input(f"required properties at '{where}' are 'call_id', 'name', 'arguments'")
    arguments = item.get("arguments", "{}")
    try:
        decoded = json.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
    except ValueError:
        raise bad_input(f"'{where}/arguments' must be valid JSON") from None
    if not isinstance(decoded, dict):
        raise bad_input(f"'{where}/arguments' must be a JSON object")
    call_id = item.get("call_id")
    return ToolCall(call_id if isinstance(call_id, str) else "", name, decoded)


def _text_format(raw: Any) -> JsonFormat | None:
    """``text.format``: Responses JSON mode, ``{type: "json_schema", name, schema}``."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise mismatch("/text", raw, "object")
    fmt = raw.get("format")
    if fmt is None:
        return None
    kind = _format_kind(fmt, "/text/format")
    if kind is None:
        return None
    if kind == "json_object":
        return JsonFormat(None)
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise bad_input("required properties at '/text/format' are 'type', 'name', 'schema'")
    return JsonFormat(schema)


def context_exceeded(requested: int, window: int) -> ApiError:
    return ApiError(
        413,
        5021,
        "AiError: The estimated number of input and maximum output tokens "
        f"({requested}) exceeded this model context window limit ({window}).",
    )


def check_context_window(model: str, messages: tuple[Message, ...], max_tokens: int) -> None:
    """Refuse, as Cloudflare does before running a model, a prompt plus output budget that
    cannot fit the model's context window. Prompt tokens are counted as the echo backend counts
    them, so the numbers in the message match the usage the server would report."""
    window = context_window(model) or DEFAULT_CONTEXT_WINDOW
    requested = sum(count_tokens(m.text) for m in messages) + max_tokens
    if requested > window:
        raise context_exceeded(requested, window)


def _prompt_or_messages(body: Mapping[str, Any], openai_route: bool) -> tuple[Message, ...]:
    has_prompt, has_messages = "prompt" in body, "messages" in body
    if openai_route and not has_messages:
        raise bad_input("required properties at '/' are 'model', 'messages'")
    if has_prompt and has_messages:
        raise bad_input(
            "oneOf at '/' not met, 2 matches: 'prompt' and 'messages' are mutually exclusive"
        )
    if not has_prompt and not has_messages:
        raise bad_input(
            "oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt'; "
            "required properties at '/' are 'messages'"
        )
    if has_prompt:
        prompt = body["prompt"]
        if not isinstance(prompt, str):
            raise mismatch("/prompt", prompt, "string")
        if not prompt:
            raise bad_input("oneOf at '/' not met, 0 matches: Length of '/prompt' must be >= 1")
        return (Message("user", prompt),)
    raw = body["messages"]
    if not isinstance(raw, list):
        raise mismatch("/messages", raw, "array")
    if not raw:
        raise bad_input("Array at '/messages' must have at least 1 item")
    return tuple(_message(m, f"/messages/{i}") for i, m in enumerate(raw))


def _message(raw: Any, path: str) -> Message:
    if not isinstance(raw, dict):
        raise mismatch(path, raw, "object")
    if "role" not in raw or "content" not in raw:
        raise bad_input(f"required properties at '{path}' are 'role', 'content'")
    role = raw["role"]
    if not isinstance(role, str):
        raise mismatch(f"{path}/role", role, "string")
    if role not in ROLES:
        allowed = ", ".join(f"'{r}'" for r in ROLES)
        raise bad_input(f"Value '{role}' at '{path}/role' must be one of {allowed}")
    text, images = _content(raw["content"], f"{path}/content")
    name = _optional_str(raw.get("name"), f"{path}/name")
    tool_call_id = _optional_str(raw.get("tool_call_id"), f"{path}/tool_call_id")
    calls = _history_tool_calls(raw.get("tool_calls"), f"{path}/tool_calls")
    return Message(cast(Role, role), text, images, calls, tool_call_id, name)


# Content part types: (text types, image type) of chat messages and of Responses input.
_CHAT_PARTS = (("text",), "image_url")
_RESPONSES_PARTS = (("input_text", "output_text"), "input_image")


def _content(
    content: Any, path: str, parts: tuple[tuple[str, ...], str] = _CHAT_PARTS
) -> tuple[str, tuple[str, ...]]:
    """Message content (a string, or a list of text and image parts) as text and image URLs.
    A chat image part is ``{"image_url": {"url"}}``, a Responses one ``{"image_url": url}``."""
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        raise mismatch(path, content, "string")
    text_types, image_type = parts
    texts: list[str] = []
    images: list[str] = []
    for i, part in enumerate(content):
        where = f"{path}/{i}"
        if not isinstance(part, dict):
            raise mismatch(where, part, "object")
        kind = part.get("type")
        if kind in text_types:
            text = part.get("text")
            if not isinstance(text, str):
                raise mismatch(f"{where}/text", text, "string")
            texts.append(text)
        elif kind == image_type:
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise bad_input(f"required properties at '{where}/image_url' are 'url'")
            images.append(url)
        else:
            allowed = ", ".join(f"'{t}'" for t in (*text_types, image_type))
            raise bad_input(f"Value at '{where}/type' must be one of {allowed}")
    return "\n".join(texts), tuple(images)


def _history_tool_calls(raw: Any, path: str) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise mismatch(path, raw, "array")
    calls: list[ToolCall] = []
    for i, item in enumerate(raw):
        where = f"{path}/{i}"
        if not isinstance(item, dict):
            raise mismatch(where, item, "object")
        # OpenAI form nests name/arguments under "function"; the legacy form is flat.
        fn = item.get("function", item)
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise bad_input(f"required properties at '{where}/function' are 'name', 'arguments'")
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except ValueError:
                raise bad_input(
                    "Assistant tool call function.arguments must be valid JSON."
                ) from None
        if not isinstance(args, dict):
            raise bad_input("Assistant tool call function.arguments must be valid JSON.")
        call_id = item.get("id")
        calls.append(ToolCall(call_id if isinstance(call_id, str) else "", fn["name"], args))
    return tuple(calls)


def _tools(raw: Any) -> tuple[ToolSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise mismatch("/tools", raw, "array")
    specs: list[ToolSpec] = []
    for i, item in enumerate(raw):
        where = f"/tools/{i}"
        if not isinstance(item, dict):
            raise mismatch(where, item, "object")
        fn = item.get("function", item)
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise bad_input(
                f"oneOf at '{where}' not met, 0 matches: required properties are 'name' "
                "or 'type', 'function'"
            )
        params = fn.get("parameters") or {}
        if not isinstance(params, dict):
            raise mismatch(f"{where}/parameters", params, "object")
        description = fn.get("description") or ""
        if not isinstance(description, str):
            raise mismatch(f"{where}/description", description, "string")
        specs.append(ToolSpec(fn["name"], description, params))
    return tuple(specs)


def _tool_choice(raw: Any, tools: tuple[ToolSpec, ...]) -> ToolChoice:
    if raw is None or raw == "auto":
        return "auto"
    if raw == "none":
        return "none"
    if raw in ("required", "any"):
        return "required"
    name: Any = raw
    if isinstance(raw, dict):
        fn = raw.get("function")
        name = fn.get("name") if isinstance(fn, dict) else raw.get("name")
    if not isinstance(name, str):
        raise bad_input(
            "Value at '/tool_choice' must be 'auto', 'none', 'required' or a named function"
        )
    if name not in {t.name for t in tools}:
        raise bad_input(f"tool_choice names the function '{name}', which is not in '/tools'")
    return NamedTool(name)


def _format_kind(fmt: Any, path: str) -> str | None:
    """The JSON mode a format object asks for, or None for plain text."""
    if not isinstance(fmt, dict):
        raise mismatch(path, fmt, "object")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind not in ("json_object", "json_schema"):
        raise bad_input(
            f"Value at '{path}/type' must be one of 'text', 'json_object', 'json_schema'"
        )
    return cast(str, kind)


def _response_format(raw: Any, openai_shaped: bool) -> JsonFormat | None:
    if raw is None:
        return None
    kind = _format_kind(raw, "/response_format")
    if kind is None:
        return None
    schema = raw.get("json_schema")
    if schema is None:
        if kind == "json_schema":
            raise bad_input("required properties at '/response_format' are 'type', 'json_schema'")
        return JsonFormat(None)
    if not isinstance(schema, dict):
        raise mismatch("/response_format/json_schema", schema, "object")
    if openai_shaped:
        # OpenAI-style models take {name, schema, strict}; native ones take the bare schema.
        inner = schema.get("schema")
        if not isinstance(inner, dict):
            raise bad_input("required properties at '/response_format/json_schema' are 'schema'")
        return JsonFormat(inner)
    return JsonFormat(schema)


def _max_tokens(body: Mapping[str, Any], openai_shaped: bool) -> int:
    key = "max_tokens"
    if openai_shaped and body.get("max_completion_tokens") is not None:
        key = "max_completion_tokens"
    value = body.get(key)
    if value is None:
        return DEFAULT_MAX_TOKENS
    return int(_number(value, f"/{key}", 1, float("inf"), integer=True))


def _number(value: Any, path: str, low: float, high: float, integer: bool) -> float:
    expected = "integer" if integer else "number"
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        raise mismatch(path, value, expected)
    if value < low:
        raise bad_input(f"Value at '{path}' must be >= {low:g}")
    if value > high:
        raise bad_input(f"Value at '{path}' must be <= {high:g}")
    return cast(float, value)


def _stop(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return tuple(raw)
    raise mismatch("/stop", raw, "array")


def _raw(raw: Any) -> bool:
    # Cloudflare's own LoRA example sends "raw": "true", so the string form is accepted too.
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return bool(raw == "true")
    raise mismatch("/raw", raw, "boolean")


def _optional_str(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise mismatch(path, value, "string")


def parse_embedding(body: Mapping[str, Any], model: str) -> EmbeddingRequest:
    """Validate a native ``/ai/run`` embeddings body ``{"text": str | [str], "pooling"?}``."""
    if "text" not in body:
        raise bad_input("required properties at '/' are 'text'")
    texts = _texts(body["text"], "/text", model)
    pooling = body.get("pooling", "mean")
    if pooling not in ("mean", "cls"):
        raise bad_input("Value at '/pooling' must be one of 'mean', 'cls'")
    return EmbeddingRequest(texts, cast(Pooling, pooling))


def parse_openai_embedding(body: Mapping[str, Any], model: str) -> EmbeddingRequest:
    """Validate an ``/ai/v1/embeddings`` body ``{"model", "input", "encoding_format"?}``."""
    if "input" not in body:
        raise bad_input("required properties at '/' are 'model', 'input'")
    texts = _texts(body["input"], "/input", model)
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise bad_input("Value at '/encoding_format' must be one of 'float', 'base64'")
    return EmbeddingRequest(texts, encoding_format=cast(EncodingFormat, encoding))


def _texts(raw: Any, path: str, model: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        if not raw:
            raise bad_input(
                f"oneOf at '{path}' not met, 0 matches: Length of '{path}' must be >= 1"
            )
        return (raw,)
    if not isinstance(raw, list):
        raise mismatch(path, raw, "string")
    if not raw:
        raise bad_input(f"oneOf at '{path}' not met, 0 matches: Array at '{path}' is empty")
    limit = embedding_batch_limit(model)
    if len(raw) > limit:
        raise bad_input(
            f"oneOf at '{path}' not met, 0 matches: Array at '{path}' has {len(raw)} items, "
            f"more than the maximum of {limit}"
        )
    for i, text in enumerate(raw):
        if not isinstance(text, str):
            raise mismatch(f"{path}/{i}", text, "string")
        if not text:
            raise bad_input(f"Length of '{path}/{i}' must be >= 1")
    return tuple(raw)


# -- fields of the other tasks' inputs (see tasks.py) -------------------------------------------


def require(body: Mapping[str, Any], *keys: str) -> None:
    """The validator's wording when a required property is missing: it lists all of them."""
    if any(key not in body for key in keys):
        listed = ", ".join(f"'{key}'" for key in keys)
        raise bad_input(f"required properties at '/' are {listed}")


def nonempty_string(value: Any, path: str, max_length: int | None = None) -> str:
    """A string with the schemas' usual ``minLength: 1``."""
    if not isinstance(value, str):
        raise mismatch(path, value, "string")
    if not value:
        raise bad_input(f"Length of '{path}' must be >= 1")
    if max_length is not None and len(value) > max_length:
        raise bad_input(f"Length of '{path}' must be <= {max_length}")
    return value


def optional_string(body: Mapping[str, Any], key: str) -> str | None:
    return _optional_str(body.get(key), f"/{key}")


def optional_number(
    body: Mapping[str, Any],
    key: str,
    low: float = float("-inf"),
    high: float = float("inf"),
    *,
    integer: bool = False,
) -> float | None:
    value = body.get(key)
    return None if value is None else _number(value, f"/{key}", low, high, integer)


def optional_bool(body: Mapping[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise mismatch(f"/{key}", value, "boolean")


def byte_array(value: Any, path: str) -> bytes:
    """``[0..255, ...]``, the schemas' JSON form of binary data (audio, images, masks)."""
    if not isinstance(value, list):
        raise mismatch(path, value, "array")
    # Fast path for the usual all-int list (audio runs to millions of items); the slow path
    # finds the offending item for the message.
    if all(type(v) is int for v in value) and all(0 <= v <= 255 for v in value):
        return bytes(value)
    for i, item in enumerate(value):
        number = _number(item, f"{path}/{i}", 0, 255, integer=False)
        if number != int(number):
            raise mismatch(f"{path}/{i}", item, "integer")
    return bytes(int(v) for v in value)


def base64_bytes(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise mismatch(path, value, "string")
    try:
        decoded = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise bad_input(f"String at '{path}' is not valid base64") from None
    if not decoded:
        raise bad_input(f"Length of '{path}' must be >= 1")
    return decoded
