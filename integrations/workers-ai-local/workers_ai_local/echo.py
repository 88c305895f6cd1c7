"""The ``echo`` backend: deterministic, dependency-free answers derived from the request.

Rules, so that tests can predict every byte:
- Text: ``"Echo: " + <last user message text>``; after a tool result, ``"Echo: <tool> returned
  <result>"``. Tokens are whitespace-separated words (each piece keeps its leading spaces).
- Reasoning (a reasoning model with its thinking on): first the line ``"Thinking (<effort>
  effort) about: <last user message text>"`` (``default`` when no effort was asked), word by
  word; its words count as completion tokens and as reasoning tokens.
- Usage: prompt tokens = words in all message texts; completion tokens = words generated (a tool
  call counts the words of ``name + " " + json(arguments)``), reasoning included.
- Tool calls: with a forced ``tool_choice`` (``required``/``any`` or a name), or with ``auto``
  when the last message is a user message that names a tool or one of the words of its name
  (split on ``_``, ``-`` and camelCase; words under 3 letters ignored). ``auto`` calls every
  mentioned tool; ``required`` calls the mentioned ones or else the first tool. Never after a
  tool result, so agent loops terminate.
- Arguments and JSON-mode objects are built from the JSON Schema: numbers take the first number
  in the last user message (else 0), strings its text (or an enum's first value), booleans
  false, arrays [], objects recurse; only required properties are filled.
- Embeddings: a signed hashed bag of words, L2-normalised: equal texts give equal vectors and
  texts sharing words have positive cosine similarity.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from workers_ai._catalog import model_spec
from workers_ai._stop import cut_at_stop
from workers_ai_local.backends import (
    CatalogEntry,
    Finish,
    GenerationEvent,
    GenerationRequest,
    Message,
    NamedTool,
    ReasoningPiece,
    TextPiece,
    ToolCall,
    ToolCallEvent,
    Usage,
    tool_name_for,
)
from workers_ai_local.catalog import served_catalog

DEFAULT_EMBEDDING_DIMENSIONS = 768
_MAX_SCHEMA_DEPTH = 8
_MIN_NAME_WORD = 3


class EchoBackend:
    """Answers every catalog model by echoing; see the module docstring for the exact rules."""

    def __init__(self) -> None:
        self._catalog = served_catalog()

    @property
    def name(self) -> str:
        return "echo"

    def catalog(self) -> Sequence[CatalogEntry]:
        return self._catalog

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        prompt_tokens = sum(count_tokens(m.text) for m in request.messages)
        thought = split_tokens(_reasoning_text(request)) if request.reasoning else []
        thought = thought[: request.max_tokens]
        spent = len(thought)
        for i, piece in enumerate(thought, start=1):
            yield ReasoningPiece(piece, Usage(prompt_tokens, i, i))
        calls = _tool_calls(request) if spent < request.max_tokens else []
        if calls:
            completion = spent
            for call in calls:
                completion += count_tokens(f"{call.name} {json.dumps(dict(call.arguments))}")
                yield ToolCallEvent(call, Usage(prompt_tokens, completion, spent))
            yield Finish("tool_calls", Usage(prompt_tokens, completion, spent))
            return
        pieces = split_tokens(cut_at_stop(_answer_text(request), request.stop))
        emitted = pieces[: request.max_tokens - spent]
        for i, piece in enumerate(emitted, start=spent + 1):
            yield TextPiece(piece, Usage(prompt_tokens, i, spent))
        truncated = len(pieces) > len(emitted)
        usage = Usage(prompt_tokens, spent + len(emitted), spent)
        yield Finish("length" if truncated else "stop", usage)

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        spec = model_spec(model)
        dims = (spec.output_dimensions if spec else None) or DEFAULT_EMBEDDING_DIMENSIONS
        return [hashed_vector(text, dims) for text in texts]


def count_tokens(text: str) -> int:
    return len(text.split())


def split_tokens(text: str) -> list[str]:
    """Word pieces that concatenate back to ``text`` exactly."""
    pieces = re.findall(r"\s*\S+", text)
    tail = text[len("".join(pieces)) :]
    if tail:
        if pieces:
            pieces[-1] += tail
        else:
            pieces = [tail]
    return pieces


def hashed_vector(text: str, dims: int) -> list[float]:
    vector = [0.0] * dims
    words = re.findall(r"\w+", text.lower()) or [text]
    for word in words:
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        vector[h % dims] += 1.0 if (h >> 40) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _last_user_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.text
    return ""


def _reasoning_text(request: GenerationRequest) -> str:
    effort = request.reasoning_effort or "default"
    return f"Thinking ({effort} effort) about: {_last_user_text(request.messages)}"


def _answer_text(request: GenerationRequest) -> str:
    last = request.messages[-1]
    user_text = _last_user_text(request.messages)
    if request.response_format is not None:
        schema = request.response_format.schema
        obj = {"echo": user_text} if schema is None else value_for_schema(schema, user_text)
        return json.dumps(obj, ensure_ascii=False)
    if last.role == "tool":
        return f"Echo: {tool_name_for(request.messages, last)} returned {last.text}"
    return f"Echo: {user_text}"


def _tool_calls(request: GenerationRequest) -> list[ToolCall]:
    choice = request.tool_choice
    if not request.tools or choice == "none" or request.messages[-1].role == "tool":
        return []
    user_text = request.messages[-1].text if request.messages[-1].role == "user" else ""
    if isinstance(choice, NamedTool):
        chosen = [t for t in request.tools if t.name == choice.name]
    else:
        chosen = [t for t in request.tools if _mentions(user_text, t.name)]
        if choice == "required" and not chosen:
            chosen = [request.tools[0]]
        if choice == "auto" and request.response_format is not None:
            chosen = []  # JSON mode wins over an unforced tool call
    args_text = _last_user_text(request.messages)
    return [
        ToolCall(
            _call_id(len(request.messages), i, tool.name),
            tool.name,
            value_for_schema(tool.parameters, args_text) if tool.parameters else {},
        )
        for i, tool in enumerate(chosen)
    ]


def _mentions(text: str, tool_name: str) -> bool:
    lowered = text.lower()
    if tool_name.lower() in lowered:
        return True
    text_words = set(re.findall(r"[a-z0-9]+", lowered))
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", tool_name)
    name_words = {w for w in re.split(r"[\s_\-.]+", spaced.lower()) if len(w) >= _MIN_NAME_WORD}
    return bool(name_words & text_words)


def _call_id(message_count: int, index: int, name: str) -> str:
    digest = hashlib.sha256(f"{message_count}:{index}:{name}".encode()).hexdigest()
    return "call_" + digest[:24]


def value_for_schema(schema: Mapping[str, Any], text: str) -> Any:
    """A value that satisfies the common subset of JSON Schema, filled from ``text``."""
    return _value(schema, schema, text, 0)


def _value(schema: Mapping[str, Any], root: Mapping[str, Any], text: str, depth: int) -> Any:
    schema = _resolve(schema, root)
    if depth > _MAX_SCHEMA_DEPTH:
        return {}
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            usable = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
            if usable:
                return _value(usable[0], root, text, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required = schema.get("required")
        names = [n for n in required if n in props] if isinstance(required, list) else []
        return {n: _value(props[n], root, text, depth + 1) for n in names}
    if kind == "array":
        return []
    if kind == "integer":
        match = re.search(r"-?\d+", text)
        return int(match.group()) if match else 0
    if kind == "number":
        match = re.search(r"-?\d+(?:\.\d+)?", text)
        if not match:
            return 0
        return float(match.group()) if "." in match.group() else int(match.group())
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return text


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` such as ``#/$defs/Joke`` (pydantic emits these)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}
