"""Request bodies, built and checked before the network. Pure functions, no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

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
from ._chat_options import (
    ChatOptions,
    is_json_mode,
    normalize_tool,
    normalize_tool_choice,
    split_json_schema,
)
from ._gateway import GatewayOptions
from ._responses import responses_body
from .errors import InvalidRequestError
from .types import ROLES, Message


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
