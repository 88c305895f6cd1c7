"""Request bodies, built and checked before the network. Pure functions, no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from typing_extensions import TypedDict

from ._catalog import (
    DEFAULT_THINKING_TOGGLE,
    ModelSpec,
    ResultShape,
    catalog,
    embedding_batch_limit,
    model_spec,
    result_shape,
    takes_images,
)
from ._gateway import GatewayOptions
from ._responses import responses_body
from .errors import InvalidRequestError
from .types import ROLES, Message


class ChatOptions(TypedDict, total=False):
    """Options of a chat call; each maps to one request field (``extra`` is merged as is)."""

    temperature: float | None
    max_tokens: int | None
    top_p: float | None
    top_k: int | None
    seed: int | None
    repetition_penalty: float | None
    frequency_penalty: float | None
    presence_penalty: float | None
    stop: str | Sequence[str] | None
    tools: Sequence[Mapping[str, Any]] | None
    tool_choice: str | Mapping[str, Any] | None
    response_format: Mapping[str, Any] | None
    raw: bool | None
    lora: str | None
    reasoning_effort: str | None
    """How hard a reasoning model thinks: one of the efforts its catalog entry lists."""
    thinking: bool | None
    """Turn a reasoning model's thinking on or off (``chat_template_kwargs``)."""
    extra: Mapping[str, Any] | None


class Routing(TypedDict, total=False):
    """Per-call options that choose where a request goes, not what it asks."""

    fallback_models: Sequence[str] | None
    gateway: GatewayOptions | Mapping[str, Any] | None


def pop_routing(kwargs: dict[str, Any]) -> Routing:
    """Take a framework call's routing keywords out of its other options."""
    routing = Routing()
    if "fallback_models" in kwargs:
        routing["fallback_models"] = kwargs.pop("fallback_models")
    if "gateway" in kwargs:
        routing["gateway"] = kwargs.pop("gateway")
    return routing


# The sampling options, by their wire names; the adapters' fields of the same names map here.
SAMPLING_OPTIONS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "seed",
    "repetition_penalty",
    "frequency_penalty",
    "presence_penalty",
)
# A reasoning model's options, sent under their own names (checked against the catalog).
REASONING_OPTIONS = ("reasoning_effort", "thinking")
# The options every adapter class carries as fields of the same name: a field's value is sent
# unless it is None, and a call's keyword argument of that name wins.
FIELD_OPTIONS = (*SAMPLING_OPTIONS, "stop", *REASONING_OPTIONS)
# Options sent under their own name when set.
_PLAIN_OPTIONS = (*SAMPLING_OPTIONS, "raw", "lora")
_KNOWN_OPTIONS = frozenset(ChatOptions.__annotations__)


def check_option_names(options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - _KNOWN_OPTIONS)
    if unknown:
        raise InvalidRequestError(
            f"Unknown chat option(s) {', '.join(unknown)}; pass extra={{...}} to send fields "
            "the client does not know."
        )


def normalize_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool in OpenAI form; the flat form ``{name, description, parameters}`` is accepted."""
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
        function = dict(tool["function"])
    elif "name" in tool:
        function = {k: v for k, v in tool.items() if k in ("name", "description", "parameters")}
    else:
        raise InvalidRequestError(f"A tool needs a name: {dict(tool)!r}")
    if not isinstance(function.get("name"), str) or not function["name"]:
        raise InvalidRequestError(f"A tool needs a name: {dict(tool)!r}")
    function.setdefault("parameters", {"type": "object", "properties": {}})
    return {"type": "function", "function": function}


_CHOICE_KEYWORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def normalize_tool_choice(
    choice: str | bool | Mapping[str, Any] | None,
    tool_names: Sequence[str] | None = None,
    *,
    required: bool = False,
) -> str | dict[str, Any]:
    """``tool_choice`` in the form the wire takes: ``"auto"``, ``"none"``, ``"required"`` or
    ``{"type": "function", "function": {"name": ...}}``.

    Takes what LangChain and LlamaIndex users write: ``"auto"``, ``"none"``, ``"required"``,
    ``"any"`` (= required), a tool's name, ``True`` (the only tool), ``False`` (none), an OpenAI
    dict, or a flat ``{"name": ...}`` / ``{"type": "function" | "tool", "name": ...}`` dict.
    ``None`` is ``"required"`` when ``required`` (LlamaIndex's ``tool_required``), else ``"auto"``.
    With ``tool_names`` (the tools sent along), a named tool must be one of them.
    """
    if choice is None:
        return "required" if required else "auto"
    if choice is True:
        if tool_names is None or len(tool_names) != 1:
            raise InvalidRequestError("tool_choice=True needs exactly one tool")
        return _named_tool_choice(tool_names[0], tool_names)
    if choice is False:
        return "none"
    if isinstance(choice, str):
        keyword = _CHOICE_KEYWORDS.get(choice)
        return keyword if keyword is not None else _named_tool_choice(choice, tool_names)
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping):
            _named_tool_choice(function.get("name"), tool_names)  # checked, sent as it is
            return dict(choice)
        if "name" in choice:
            return _named_tool_choice(choice.get("name"), tool_names)
        keyword = _CHOICE_KEYWORDS.get(str(choice.get("type")))
        if keyword is not None:  # {"type": "auto"}, Anthropic's {"type": "any"}
            return keyword
    raise InvalidRequestError(
        f"tool_choice {choice!r} is neither 'auto', 'none', 'any', 'required', a tool's name "
        "nor {'type': 'function', 'function': {'name': ...}}"
    )


def _named_tool_choice(name: Any, tool_names: Sequence[str] | None) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(f"tool_choice names no tool: {name!r}")
    if tool_names is not None and name not in tool_names:
        raise InvalidRequestError(
            f"tool_choice {name!r} is neither 'auto', 'none', 'any', 'required' nor one of "
            f"the tools sent ({', '.join(tool_names) or 'none'})"
        )
    return {"type": "function", "function": {"name": name}}


# Cloudflare's OpenAI-style models (and OpenAI's API) take json_schema names of at most 64 of
# these characters; anything else in a name (a generic's "Page[int]", a title's spaces) is "_".
SCHEMA_NAME_MAX = 64
_SCHEMA_NAME_REFUSED = re.compile(r"[^a-zA-Z0-9_-]")
DEFAULT_SCHEMA_NAME = "response"


def schema_name(name: Any) -> str:
    """A JSON-mode schema name the wire takes: ``[a-zA-Z0-9_-]``, at most 64 characters."""
    cleaned = _SCHEMA_NAME_REFUSED.sub("_", str(name or ""))[:SCHEMA_NAME_MAX]
    return cleaned or DEFAULT_SCHEMA_NAME


def split_json_schema(spec: Any) -> tuple[str, dict[str, Any], bool | None]:
    """(name, bare schema, strict) from a bare schema or OpenAI's {name, schema, strict}; the
    name is the envelope's, else the schema's ``title``, else "response", made one the wire
    takes (:func:`schema_name`)."""
    if not isinstance(spec, Mapping):
        raise InvalidRequestError("response_format json_schema must be a JSON Schema object")
    if isinstance(spec.get("schema"), Mapping) and "properties" not in spec:
        strict = spec.get("strict")
        return schema_name(spec.get("name")), dict(spec["schema"]), strict
    return schema_name(spec.get("title")), dict(spec), None


def json_response_format(
    schema: Mapping[str, Any] | type[BaseModel] | None = None,
    *,
    name: str | None = None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """The ``response_format`` option of JSON mode: answers as ``schema``.

    ``schema`` is a JSON Schema, OpenAI's ``{name, schema, strict}``, or a pydantic model class
    (its ``model_json_schema()``); None asks for any JSON object (``{"type": "json_object"}``).
    The name is ``name``, else the envelope's or the schema's ``title``, else "response", made
    one the wire takes (``[a-zA-Z0-9_-]``, at most 64 characters). The result is OpenAI's
    envelope ``{"type": "json_schema", "json_schema": {name, schema, strict}}``; a request
    sends it in the form its model takes (native models: the bare schema).
    """
    if schema is None:
        return {"type": "json_object"}
    if isinstance(schema, type):
        if not issubclass(schema, BaseModel):
            raise InvalidRequestError(
                f"json_response_format takes a JSON Schema or a pydantic model class, "
                f"got {schema!r}"
            )
        schema = schema.model_json_schema()
    elif isinstance(schema, Mapping) and schema.get("type") in ("json_object", "json_schema"):
        # Already a response_format: {"type": "json_object"}, or the envelope around a schema.
        if "json_schema" in schema:
            schema = schema["json_schema"]
        elif schema["type"] == "json_object":
            return {"type": "json_object"}
        else:
            raise InvalidRequestError("response_format json_schema must be a JSON Schema object")
    found_name, bare, found_strict = split_json_schema(schema)
    envelope: dict[str, Any] = {
        "name": schema_name(name) if name is not None else found_name,
        "schema": bare,
    }
    strict = found_strict if strict is None else strict
    if strict is not None:
        envelope["strict"] = strict
    return {"type": "json_schema", "json_schema": envelope}


def is_json_mode(response_format: Mapping[str, Any] | None) -> bool:
    """Whether ``response_format`` asks for JSON (``json_object`` or ``json_schema``)."""
    return response_format is not None and response_format.get("type") != "text"


def sends_stream(stream: bool, options: ChatOptions) -> bool:
    """Whether a chat request goes out with ``stream: true``.

    Workers AI's JSON mode does not stream (docs: features/json-mode; a JSON-schema
    ``response_format`` with ``stream: true`` is refused with 5023). So a stream asked for in
    JSON mode is sent without ``stream``, and the whole answer comes back as one chunk, for
    every caller (the core client, LangChain, LlamaIndex) alike.
    """
    return stream and not is_json_mode(options.get("response_format"))


def normalize_response_format(model: str, response_format: Mapping[str, Any]) -> dict[str, Any]:
    """Native models take a bare JSON Schema; OpenAI-style models take OpenAI's envelope."""
    kind = response_format.get("type")
    if kind in ("text", "json_object") and "json_schema" not in response_format:
        return dict(response_format)
    if kind not in ("json_schema", "json_object"):
        raise InvalidRequestError(
            f"response_format type must be 'json_object' or 'json_schema', got {kind!r}"
        )
    name, schema, strict = split_json_schema(response_format.get("json_schema"))
    if result_shape(model) == "openai":
        envelope: dict[str, Any] = {"name": name, "schema": schema}
        if strict is not None:
            envelope["strict"] = strict
        return {"type": "json_schema", "json_schema": envelope}
    return {"type": "json_schema", "json_schema": schema}


def _normalize_wire_tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") if isinstance(call.get("function"), Mapping) else call
    assert isinstance(function, Mapping)
    arguments = function.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    out: dict[str, Any] = {
        "type": "function",
        "function": {"name": function.get("name"), "arguments": arguments},
    }
    if call.get("id"):
        out["id"] = call["id"]
    return out


# Where a chat.completion-shaped model takes an assistant turn's earlier reasoning: the field
# vLLM reads (Cloudflare's own provider sends it there for kimi and glm; workers-ai-provider
# convert-to-workersai-chat-messages.ts).
REASONING_INPUT_FIELD = "reasoning"


def normalize_messages(
    messages: Sequence[Message], shape: ResultShape = "legacy"
) -> list[dict[str, Any]]:
    """Messages as the wire takes them. An assistant turn's ``reasoning`` is kept only where it
    helps: on a turn with tool calls, for a model of the ``openai`` or ``responses`` shape."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidRequestError("messages must be a list of {'role', 'content'} dicts")
    if not messages:
        raise InvalidRequestError("messages is empty: send at least one message")
    out = []
    for position, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise InvalidRequestError(f"messages[{position}] is not a dict: {message!r}")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequestError(
                f"messages[{position}] has role {role!r}; use one of {', '.join(sorted(ROLES))}"
            )
        wire: dict[str, Any] = dict(message)
        # Cloudflare rejects a null content ("Type mismatch of '/messages/N/content'").
        if wire.get("content") is None:
            wire["content"] = ""
        if wire.get("tool_calls"):
            wire["tool_calls"] = [_normalize_wire_tool_call(c) for c in wire["tool_calls"]]
        reasoning = wire.pop("reasoning", None)
        if reasoning and shape in ("openai", "responses") and wire.get("tool_calls"):
            wire[REASONING_INPUT_FIELD] = reasoning
        out.append(wire)
    return out


def _has_image(message: Mapping[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(part, Mapping) and part.get("type") in ("image_url", "image") for part in content
    )


def check_images_allowed(model: str, messages: Sequence[Mapping[str, Any]]) -> None:
    """Refuse images for a model we know has no vision, before spending a request on it."""
    if takes_images(model) is False and any(_has_image(m) for m in messages):
        raise InvalidRequestError(
            f"{model} has no vision and cannot take image input; use a vision model such as "
            f"{', '.join(catalog().image_models())}, or send text only."
        )


def check_reasoning(
    model: str, spec: ModelSpec | None, effort: str | None, thinking: bool | None
) -> tuple[str | None, str | None]:
    """``reasoning_effort`` and ``thinking`` checked against the catalog, before the network:
    the effort to send, and the ``chat_template_kwargs`` key that carries ``thinking`` (None
    when nothing is to be sent for it). A model the catalog lacks is left to Cloudflare."""
    if effort is None and thinking is None:
        return None, None
    if spec is None:
        return effort, DEFAULT_THINKING_TOGGLE if thinking is not None else None
    reasoning = spec.reasoning
    if reasoning is None:
        asked = "reasoning_effort" if effort is not None else "thinking"
        raise InvalidRequestError(
            f"{model} is not a reasoning model, so it takes no {asked}; models that reason: "
            f"{', '.join(catalog().with_reasoning_effort())}."
        )
    if effort is not None:
        if not reasoning.efforts:
            raise InvalidRequestError(
                f"{model} takes no reasoning_effort (Cloudflare lists no efforts for it); "
                f"models that take one: {', '.join(catalog().with_reasoning_effort())}."
            )
        if not reasoning.accepts(effort):
            allowed = ", ".join(repr(e) for e in (*reasoning.efforts, *reasoning.aliases))
            raise InvalidRequestError(
                f"reasoning_effort={effort!r} is not one {model} takes; use one of {allowed}."
            )
    toggle = None
    if thinking is not None:
        if reasoning.toggle is not None:
            toggle = reasoning.toggle
        elif not thinking:
            lower = " Lower it with reasoning_effort='low' instead." if reasoning.efforts else ""
            raise InvalidRequestError(
                f"{model}'s reasoning cannot be turned off (it has no thinking switch).{lower}"
            )
    return effort, toggle


def client_side_stop(model: str, options: ChatOptions) -> tuple[str, ...]:
    """Stop sequences the client must apply itself: the Responses API (gpt-oss) has no
    ``stop``, so the answer is cut where the request asked."""
    stop = options.get("stop")
    if not stop or result_shape(model) != "responses":
        return ()
    return (stop,) if isinstance(stop, str) else tuple(stop)


def _input(
    model: str, messages: Sequence[Message] | None, prompt: str | None, shape: ResultShape
) -> dict[str, Any]:
    if messages is not None and prompt is not None:
        raise InvalidRequestError("Pass either messages or prompt, not both")
    if prompt is not None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidRequestError("prompt is empty")
        return {"prompt": prompt}
    if messages is None:
        raise InvalidRequestError("Pass messages or a prompt")
    wire = normalize_messages(messages, shape)
    check_images_allowed(model, wire)
    return {"messages": wire}


def build_chat_body(
    model: str,
    messages: Sequence[Message] | None,
    prompt: str | None,
    *,
    stream: bool,
    options: ChatOptions,
) -> dict[str, Any]:
    """The body of a chat request to ``model``, in the form its family takes."""
    check_option_names(options)
    if not model or not isinstance(model, str):
        raise InvalidRequestError("model is empty: name a Workers AI model, e.g. @cf/meta/...")
    shape = result_shape(model)
    spec = model_spec(model)
    body = _input(model, messages, prompt, shape)
    effort, toggle = check_reasoning(
        model, spec, options.get("reasoning_effort"), options.get("thinking")
    )
    stream = sends_stream(stream, options)
    if shape == "responses":
        body = responses_body(body, model, options, effort, stream=stream)
    else:
        _add_chat_options(body, model, shape, options, stream=stream)
        if effort is not None:
            body["reasoning_effort"] = effort
        if toggle is not None:
            body["chat_template_kwargs"] = {toggle: bool(options.get("thinking"))}
    extra = options.get("extra")
    if extra:
        body.update(extra)
        if not stream:
            body.pop("stream_options", None)  # OpenAI-style APIs take it only with stream
    return body


def _add_chat_options(
    body: dict[str, Any], model: str, shape: ResultShape, options: ChatOptions, *, stream: bool
) -> None:
    for name in _PLAIN_OPTIONS:
        value = options.get(name)
        if value is not None:
            body[name] = value
    stop = options.get("stop")
    if stop:
        body["stop"] = [stop] if isinstance(stop, str) else list(stop)
    tools = options.get("tools")
    if tools:
        body["tools"] = [normalize_tool(t) for t in tools]
    tool_choice = options.get("tool_choice")
    if tool_choice is not None:
        body["tool_choice"] = normalize_tool_choice(tool_choice)
    response_format = options.get("response_format")
    if response_format is not None:
        body["response_format"] = normalize_response_format(model, response_format)
    if stream:
        body["stream"] = True
        if shape == "openai":
            body["stream_options"] = {"include_usage": True}


def embedding_batches(
    model: str, texts: str | Sequence[str], batch_size: int | None = None
) -> list[list[str]]:
    """Split ``texts`` into requests of ``batch_size``, never larger than the model takes."""
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items:
        raise InvalidRequestError("texts is empty: pass at least one text to embed")
    for position, text in enumerate(items):
        if not isinstance(text, str):
            raise InvalidRequestError(f"texts[{position}] is not a string: {text!r}")
    if batch_size is not None and batch_size < 1:
        raise InvalidRequestError("batch_size must be >= 1")
    size = min(batch_size or embedding_batch_limit(model), embedding_batch_limit(model))
    return [items[i : i + size] for i in range(0, len(items), size)]


def check_run_payload(model: str, payload: Mapping[str, Any]) -> None:
    """What we can tell is wrong with a raw ``run`` payload before sending it."""
    if not isinstance(payload, Mapping):
        raise InvalidRequestError("payload must be a dict (the model's input)")
    texts = payload.get("text")
    limit = embedding_batch_limit(model)
    if isinstance(texts, list) and len(texts) > limit:
        raise InvalidRequestError(
            f"{model} takes at most {limit} texts per request, got {len(texts)}; "
            "use embed(), which splits them"
        )
    if "prompt" in payload and "messages" in payload:
        raise InvalidRequestError("Pass either messages or prompt, not both")
    if "prompt" in payload and not str(payload["prompt"]).strip():
        raise InvalidRequestError("prompt is empty")
    if "messages" in payload:
        normalize_messages(payload["messages"])
