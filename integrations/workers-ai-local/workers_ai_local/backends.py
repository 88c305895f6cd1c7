"""The backend interface of the local server (the registry that picks one by name is
``registry``: backends import this module, and the registry imports them).

A backend is synchronous and knows nothing about HTTP: the app validates a request into a
:class:`GenerationRequest`, runs :meth:`Backend.generate` in a worker thread and shapes the events
into whichever wire family the model answers in. Streaming and non-streaming share that one
generator, so the two can never disagree about text, tool calls or token counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias

Role = Literal["system", "developer", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls"]
Task = Literal[
    "Text Generation",
    "Text Embeddings",
    "Text-to-Image",
    "Automatic Speech Recognition",
    "Image Classification",
    "Object Detection",
    "Text Classification",
    "Translation",
    "Image-to-Text",
]


@dataclass(frozen=True)
class ToolCall:
    """One function call, with arguments already decoded to an object."""

    id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class Message:
    """A chat message reduced to what a backend can use, whatever wire form it came in."""

    role: Role
    text: str
    image_urls: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


def tool_name_for(messages: Sequence[Message], result: Message) -> str:
    """The name of the tool whose result ``result`` (a ``tool`` message) carries."""
    if result.name:
        return result.name
    for message in messages:
        for call in message.tool_calls:
            if call.id == result.tool_call_id:
                return call.name
    return "the tool"


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call; ``parameters`` is its JSON Schema (``{}`` when none given)."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class NamedTool:
    """``tool_choice`` naming one tool that must be called."""

    name: str


ToolChoice: TypeAlias = Literal["auto", "none", "required"] | NamedTool


@dataclass(frozen=True)
class JsonFormat:
    """JSON mode. ``schema`` is None for ``json_object`` without a schema."""

    schema: Mapping[str, Any] | None


@dataclass(frozen=True)
class GenerationRequest:
    """A validated text-generation request, independent of the route and family it came from.

    A ``prompt`` request arrives as a single user message; ``raw`` says the caller asked for no
    chat template (a real backend feeds ``messages[0].text`` to the model verbatim).
    """

    model: str
    messages: tuple[Message, ...]
    max_tokens: int
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = "auto"
    response_format: JsonFormat | None = None
    stop: tuple[str, ...] = ()
    raw: bool = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    reasoning: bool = False
    """Think before answering (a reasoning model with its thinking on): the backend yields
    :class:`ReasoningPiece` events first."""
    reasoning_effort: str | None = None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0
    """Of the completion tokens, those spent reasoning."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


# Every event carries the cumulative usage so far: OpenAI-family streams repeat it on each chunk.
@dataclass(frozen=True)
class TextPiece:
    text: str
    usage: Usage


@dataclass(frozen=True)
class ReasoningPiece:
    """Reasoning text, before any answer text or tool call."""

    text: str
    usage: Usage


@dataclass(frozen=True)
class ToolCallEvent:
    call: ToolCall
    usage: Usage


@dataclass(frozen=True)
class Finish:
    """Always the last event: why generation stopped and the final token counts."""

    reason: FinishReason
    usage: Usage


GenerationEvent: TypeAlias = ReasoningPiece | TextPiece | ToolCallEvent | Finish


@dataclass(frozen=True)
class CatalogEntry:
    """One model the backend serves, as listed by ``/ai/models/search``.

    ``properties`` are as Cloudflare's catalog lists them: mostly strings (``"24000"``,
    ``"true"``), some objects (``price``, ``reasoning_effort``). ``task`` is any of the
    catalog's tasks; the server runs those in :data:`Task`.
    """

    name: str
    task: str
    description: str
    properties: tuple[tuple[str, Any], ...] = field(default=())


class Backend(Protocol):
    """What the local server needs from a model runner. Implementations are synchronous."""

    @property
    def name(self) -> str:
        """Short name shown in the startup line, e.g. ``echo``."""
        ...

    def catalog(self) -> Sequence[CatalogEntry]:
        """The models this backend answers for; any other model name gets code 5007."""
        ...

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        """Yield text pieces and tool calls in order, then exactly one :class:`Finish`.

        Runs in a worker thread and may be abandoned (closed) when the client disconnects.
        Raise ``workers_ai_local.errors.ApiError`` for failures Cloudflare reports with a code
        (e.g. an input too long for the context window); any other exception becomes 500/3001.
        """
        ...

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, all of the model's dimension."""
        ...
