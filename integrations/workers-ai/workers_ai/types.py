"""Typed results of the core client: what callers get back, whatever shape the wire used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

Role = Literal["system", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset(("system", "user", "assistant", "tool"))


class Message(TypedDict):
    """A chat message in Workers AI's (OpenAI-like) wire form."""

    role: str
    content: NotRequired[str | list[dict[str, Any]] | None]
    name: NotRequired[str]
    tool_calls: NotRequired[list[dict[str, Any]]]
    tool_call_id: NotRequired[str]
    reasoning: NotRequired[str]
    """An assistant turn's reasoning, sent back (in the field the model expects) when the turn
    carries tool calls, so a reasoning model keeps its thread across tool results."""


class _Model(BaseModel):
    # Validators are built on first use, not at import: an embeddings-only program never pays
    # for the chat result types (building them all would dominate `import workers_ai`;
    # bench/RESULTS.md).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Usage(_Model):
    """Token counts as the server reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    """Prompt tokens served from Cloudflare's prefix cache, when the server says."""
    reasoning_tokens: int | None = None
    """Completion tokens spent on reasoning, when the server says."""


class ToolCall(_Model):
    """One complete tool call. ``arguments`` is a dict whatever the wire form was."""

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str
    """The arguments as JSON text: as received when they came as a string, else serialized."""
    error: str | None = None
    """Why ``raw_arguments`` is not a JSON object (then ``arguments`` is empty)."""


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a streamed tool call; pieces with the same ``index`` concatenate."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class ChatResult(_Model):
    """A whole text-generation answer."""

    text: str
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str
    cf_ray: str | None = None
    reasoning: str | None = None
    parsed: Any = None
    """In JSON mode: the answer as a Python value (``text`` holds it as JSON text)."""
    raw: dict[str, Any] = Field(default_factory=dict)
    """The ``result`` object exactly as Cloudflare sent it."""


# Streamed pieces are plain frozen dataclasses, not pydantic models: one is built per token, the
# parser has already checked every value, and validating it again cost the client 5-10% of its CPU
# per streamed token (measured between paced reads, where caches are cold; bench/RESULTS.md).
@dataclass(frozen=True, slots=True)
class ChatChunk:
    """One streamed delta. Usage, finish_reason and model arrive once, on the last chunk."""

    text: str = ""
    reasoning: str = ""
    tool_calls: Sequence[ToolCallDelta] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    cf_ray: str | None = None
    is_last: bool = False


class EmbeddingResult(_Model):
    """Embeddings for every input text, in input order."""

    vectors: list[list[float]]
    model: str
    dims: int
    usage: Usage | None = None


class ModelInfo(_Model):
    """One entry of the model catalog (``/ai/models/search``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    id: str | None = None
    task: str | None = None
    description: str = ""
    context_window: int | None = None
    max_input_tokens: int | None = None
    function_calling: bool = False
    vision: bool = False
    output_dimensions: int | None = None
    created_at: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    """Every catalog property as sent (numbers and booleans usually arrive as strings)."""


BatchState = Literal["queued", "running", "done"]


class BatchItem(_Model):
    """One request's outcome in a finished batch; ``index`` is its place in the submission."""

    index: int
    success: bool
    result: Any = None
    """The model's output, as ``run`` would return it (None when the item failed)."""
    external_reference: str | None = None
    error: str | None = None
    """Why the item failed, as Cloudflare said it."""


class BatchStatus(_Model):
    """Where a queued batch stands. ``items`` are in submission order once it is done."""

    request_id: str
    model: str
    status: BatchState
    items: list[BatchItem] | None = None
    usage: Usage | None = None

    @property
    def done(self) -> bool:
        return self.status == "done"
