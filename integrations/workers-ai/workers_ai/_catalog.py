"""Cloudflare's model catalog as data: what the client and the local server know about a model.

``catalog.json`` (next to this module, written by ``scripts/refresh_catalog.py``) keeps, for
every model of Cloudflare's catalog, its ``properties`` as Cloudflare lists them, a few facts read
from its input and output schemas (``schema``), and facts from Cloudflare's changelog and model
cards (``notes``). This module is its one reader: every rule that turns those records into
context windows, tool support, reasoning efforts, result shapes and lifecycle lives here.
The file is read on first use, not at import.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import json
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, cast

from .errors import (
    NO_SUCH_MODEL_CODE,
    APIStatusError,
    InvalidRequestError,
    ModelDeprecatedError,
    PaidPlanRequiredError,
)

ResultShape = Literal["legacy", "scout", "openai", "responses", "decision"]
"""The shapes of a text-generation ``result`` (wire contract §2.3):

- ``legacy``: ``{"response": str | object, "tool_calls": [{"name", "arguments": object}], "usage"}``
- ``scout``: like legacy, tool calls OpenAI-shaped with object arguments (llama-4-scout)
- ``openai``: a whole ``chat.completion`` inside ``result`` (qwen3, kimi, glm, gemma-4, ...)
- ``responses``: an OpenAI Responses object, ``output`` items (gpt-oss)
- ``decision``: answers per question id (the Clef models; not chat)
"""

TEXT_GENERATION = "Text Generation"
TEXT_EMBEDDINGS = "Text Embeddings"

DEFAULT_CHAT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
DEFAULT_EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"
# Cloudflare's documented per-request cap on embedding inputs (bge-*: maxItems 100).
DEFAULT_EMBEDDING_BATCH_LIMIT = 100
# The OpenAI chat-completions enum, which models whose schema has a reasoning_effort field but
# whose catalog entry lists no efforts take (workerd ChatCompletionsCommonOptions).
CHAT_COMPLETIONS_EFFORTS = ("low", "medium", "high")
DEFAULT_THINKING_TOGGLE = "enable_thinking"  # chat_template_kwargs key of the OpenAI template
DEFAULT_REASONING_FIELD = "reasoning_content"  # where chat.completion answers carry reasoning
_TRUE = frozenset(("true", "1", "yes"))
_PREFIXES = ("@cf/", "@hf/")


@dataclass(frozen=True)
class Reasoning:
    """How a reasoning model's thinking is set.

    ``efforts`` are the ``reasoning_effort`` values it takes (empty: it takes none) and
    ``aliases`` the other values Cloudflare maps onto them; ``mandatory``: its reasoning cannot be
    turned off; ``toggle``: the ``chat_template_kwargs`` key that turns it on and off (None when
    it has none); ``output_field``: the message field a ``chat.completion`` answer carries it in.
    """

    efforts: tuple[str, ...] = ()
    default: str | None = None
    mandatory: bool = False
    aliases: Mapping[str, str] = field(default_factory=dict)
    toggle: str | None = None
    output_field: str = DEFAULT_REASONING_FIELD

    def accepts(self, effort: str) -> bool:
        return effort in self.efforts or effort in self.aliases


@dataclass(frozen=True)
class Deprecation:
    """When Cloudflare retires (or retired) a model, what to use instead, and who says so."""

    date: _dt.date
    replacement: str | None
    source: str


@dataclass(frozen=True)
class ModelSpec:
    """One model of the catalog. ``properties`` are Cloudflare's, as its catalog lists them."""

    name: str
    task: str
    created_at: str | None = None
    description: str = ""
    context_window: int | None = None
    max_input_tokens: int | None = None
    output_dimensions: int | None = None
    batch_limit: int | None = None
    """Embedding models: most texts per request."""
    function_calling: bool = False
    image_parts: bool = False
    """Takes ``image_url`` parts in messages (vision)."""
    lora: bool = False
    async_queue: bool = False
    paid_only: bool = False
    """Needs Workers Paid (or AI Gateway credits): 403 / 5035 on the Free plan."""
    result_shape: ResultShape | None = None
    reasoning: Reasoning | None = None
    deprecation: Deprecation | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    def retired(self, today: _dt.date | None = None) -> bool:
        return self.deprecation is not None and self.deprecation.date <= (today or _today())


def _today() -> _dt.date:
    return _dt.datetime.now(_dt.timezone.utc).date()


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in _TRUE


def _int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _reasoning(
    properties: Mapping[str, Any], schema: Mapping[str, Any], notes: Mapping[str, Any]
) -> Reasoning | None:
    if not _flag(properties.get("reasoning", "")):
        return None
    spec = properties.get("reasoning_effort")
    spec = spec if isinstance(spec, Mapping) else {}
    efforts: tuple[str, ...] = tuple(spec.get("supported_efforts") or ())
    responses = schema.get("result_shape") == "responses"
    if not efforts and (schema.get("reasoning_effort") or responses):
        efforts = CHAT_COMPLETIONS_EFFORTS
    aliases = {
        k: v
        for k, v in (spec.get("normalizes_to") or {}).items()
        if k != "null" and isinstance(v, str)
    }
    toggle = notes.get("thinking_toggle")
    if toggle is None and schema.get("chat_template_kwargs"):
        toggle = DEFAULT_THINKING_TOGGLE
    mandatory = bool(spec.get("mandatory")) or responses  # gpt-oss: "cannot be disabled"
    return Reasoning(
        efforts,
        spec.get("default_effort"),
        mandatory,
        aliases,
        toggle,
        notes.get("reasoning_field") or DEFAULT_REASONING_FIELD,
    )


def _deprecation(properties: Mapping[str, Any], notes: Mapping[str, Any]) -> Deprecation | None:
    planned = properties.get("planned_deprecation_date")
    when = planned if isinstance(planned, str) and planned else notes.get("deprecated_on")
    if not isinstance(when, str):
        return None
    source = (
        "Cloudflare's catalog (planned_deprecation_date)"
        if when == planned
        else str(notes.get("deprecation_source") or "Cloudflare's changelog")
    )
    return Deprecation(_dt.date.fromisoformat(when), notes.get("replacement"), source)


def spec_from_record(record: Mapping[str, Any]) -> ModelSpec:
    """A model's facts from its ``catalog.json`` record (the rules, in one place)."""
    properties: Mapping[str, Any] = record.get("properties") or {}
    schema: Mapping[str, Any] = record.get("schema") or {}
    notes: Mapping[str, Any] = record.get("notes") or {}
    task = str(record["task"])
    shape = schema.get("result_shape") if task == TEXT_GENERATION else None
    dimensions = _int(properties.get("output_dimensions")) or notes.get("output_dimensions")
    return ModelSpec(
        name=str(record["name"]),
        task=task,
        created_at=record.get("created_at"),
        description=str(record.get("description") or ""),
        context_window=_int(properties.get("context_window")),
        max_input_tokens=_int(properties.get("max_input_tokens")),
        output_dimensions=dimensions,
        batch_limit=notes.get("batch_limit")
        or (DEFAULT_EMBEDDING_BATCH_LIMIT if task == TEXT_EMBEDDINGS else None),
        function_calling=_flag(properties.get("function_calling", "")),
        image_parts=_flag(properties.get("vision", "")) or bool(schema.get("image_parts")),
        lora=_flag(properties.get("lora", "")),
        async_queue=_flag(properties.get("async_queue", "")),
        paid_only=_flag(properties.get("require_workers_paid", "")),
        result_shape=cast("ResultShape | None", shape),
        reasoning=_reasoning(properties, schema, notes),
        deprecation=_deprecation(properties, notes),
        properties=properties,
    )


class Catalog:
    """Every model by name, with name resolution and lookups across the catalog. A record
    becomes a :class:`ModelSpec` when first asked for: most programs name a handful of the
    catalog's models, and building every one would add to the first call (bench/RESULTS.md)."""

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._records = {str(r["name"]): r for r in records}
        self._specs: dict[str, ModelSpec] = {}
        short: dict[str, list[str]] = {}
        for name in self._records:
            bare = name.split("/", 1)[1]  # "meta/llama-3.1-8b-instruct-fast"
            for key in (bare, bare.split("/", 1)[-1]):
                short.setdefault(key.lower(), []).append(name)
        # Only a short name that one model answers to is recognised.
        self._short = {k: v[0] for k, v in short.items() if len(v) == 1}

    def __iter__(self) -> Iterator[ModelSpec]:
        for name in self._records:
            spec = self.get(name)
            assert spec is not None
            yield spec

    def __len__(self) -> int:
        return len(self._records)

    def get(self, name: str) -> ModelSpec | None:
        spec = self._specs.get(name)
        if spec is None:
            record = self._records.get(name)
            if record is None:
                return None
            spec = self._specs[name] = spec_from_record(record)  # a race builds it twice: fine
        return spec

    def resolve(self, name: str) -> str:
        """``name`` as Cloudflare knows it: a name without its ``@cf/`` prefix
        (``meta/llama-4-scout-17b-16e-instruct``, ``llama-4-scout-17b-16e-instruct``) becomes the
        catalog's full name; every other name is left as it is."""
        if name in self._records or name.startswith(_PREFIXES):
            return name
        return self._short.get(name.lower(), name)

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Active catalog names closest to ``name`` (for "did you mean")."""
        active = [s.name for s in self if not s.retired()]
        bare = {n.split("/", 1)[1].lower(): n for n in active}
        wanted = name.split("/", 1)[1] if name.startswith(_PREFIXES) else name
        close = difflib.get_close_matches(wanted.lower(), list(bare), n=limit, cutoff=0.6)
        return [bare[c] for c in close]

    # -- errors.ModelFacts: what makes an error about a model useful ----------------------------

    def advice_for(self, error: type[APIStatusError], code: int | None, model: str) -> str:
        if error is PaidPlanRequiredError:
            return paid_plan_advice(self.get(model), model)
        if error is ModelDeprecatedError:
            replacement = self.deprecation_of(model)[1]
            return f"Use {replacement} instead." if replacement else ""
        if code == NO_SUCH_MODEL_CODE:
            close = self.suggest(model)
            if close:
                return f"Did you mean {' or '.join(close)}? `workers-ai models` lists them all."
        return ""

    def deprecation_of(self, model: str) -> tuple[str | None, str | None]:
        spec = self.get(model)
        if spec is None or spec.deprecation is None:
            return None, None
        return spec.deprecation.date.isoformat(), spec.deprecation.replacement

    def alternatives_to(self, model: str) -> tuple[str, ...]:
        spec = self.get(model)
        return tuple(self.alternatives(spec)) if spec is not None else ()

    def alternatives(self, spec: ModelSpec, limit: int = 3) -> list[str]:
        """Active Free-plan models of ``spec``'s task that call tools when ``spec`` does; those
        that also share its reasoning and vision first, then the newest."""

        def likeness(s: ModelSpec) -> tuple[bool, bool, bool, str]:
            return (
                (s.reasoning is not None) == (spec.reasoning is not None),
                s.image_parts == spec.image_parts,
                s.result_shape is not None,
                s.created_at or "",
            )

        found = [
            s
            for s in self
            if s.task == spec.task
            and s.name != spec.name
            and not s.paid_only
            and not s.retired()
            and (s.function_calling or not spec.function_calling)
        ]
        found.sort(key=likeness, reverse=True)
        return [s.name for s in found[:limit]]

    def with_reasoning_effort(self, limit: int = 4) -> list[str]:
        """Active Free-plan models that take ``reasoning_effort``, the newest first."""
        found = [
            s
            for s in self
            if s.reasoning is not None
            and s.reasoning.efforts
            and not s.paid_only
            and not s.retired()
        ]
        found.sort(key=lambda s: s.created_at or "", reverse=True)
        return [s.name for s in found[:limit]]

    def image_models(self) -> list[str]:
        """Active Free-plan chat models that take images in messages."""
        return sorted(
            s.name
            for s in self
            if s.image_parts
            and s.result_shape not in (None, "decision")
            and not s.paid_only
            and not s.retired()
        )


def load_records(text: str) -> list[dict[str, Any]]:
    data = json.loads(text)
    records = data["models"] if isinstance(data, Mapping) else data
    return [dict(r) for r in records]


@functools.cache
def catalog() -> Catalog:
    """The packaged catalog, read once per process."""
    text = resources.files(__package__).joinpath("catalog.json").read_text(encoding="utf-8")
    return Catalog(load_records(text))


def model_spec(model: str) -> ModelSpec | None:
    """What the catalog says about ``model`` (its full name), or None for a name it lacks."""
    return catalog().get(model)


def result_shape(model: str) -> ResultShape:
    """The shape ``model``'s text-generation answers take; ``legacy`` (the /ai/run default) for
    a model the catalog lacks or whose schema it does not know."""
    spec = model_spec(model)
    return (spec.result_shape if spec is not None else None) or "legacy"


def embedding_batch_limit(model: str) -> int:
    """Most texts one embeddings request may carry for ``model``."""
    spec = model_spec(model)
    return (spec.batch_limit if spec is not None else None) or DEFAULT_EMBEDDING_BATCH_LIMIT


def context_window(model: str) -> int | None:
    spec = model_spec(model)
    return spec.context_window if spec is not None else None


def takes_images(model: str) -> bool | None:
    """Whether a chat model takes image parts: True or False when the catalog knows the model,
    None when not (an unknown model is left to Cloudflare to judge)."""
    spec = model_spec(model)
    return spec.image_parts if spec is not None else None


# -- lifecycle ------------------------------------------------------------------------------------

_warned: set[str] = set()
_warned_lock = threading.Lock()


def deprecation_message(spec: ModelSpec) -> str:
    assert spec.deprecation is not None
    when = spec.deprecation.date.isoformat()
    instead = (
        f" Use {spec.deprecation.replacement} instead."
        if spec.deprecation.replacement
        else " Pick another model of the catalog (`workers-ai models`)."
    )
    if spec.retired():
        return f"{spec.name} was retired by Cloudflare on {when}.{instead}"
    return f"{spec.name} will be retired by Cloudflare on {when}.{instead}"


def _warn_once(spec: ModelSpec) -> None:
    with _warned_lock:
        if spec.name in _warned:
            return
        _warned.add(spec.name)
    # stacklevel: past this module and the client, at the caller's line.
    warnings.warn(deprecation_message(spec), DeprecationWarning, stacklevel=5)


def checked_model(model: str) -> str:
    """The name to send for ``model``, after the catalog's lifecycle checks: a retired model
    raises :class:`ModelDeprecatedError` (no request is spent on it), one whose retirement date
    is ahead warns once per process, and a name without its ``@cf/`` prefix is completed."""
    if not model or not isinstance(model, str):
        raise InvalidRequestError(
            f"model must be a Workers AI model name such as {DEFAULT_CHAT_MODEL}, got {model!r}"
        )
    name = catalog().resolve(model)
    spec = catalog().get(name)
    if spec is None or spec.deprecation is None:
        return name
    if not spec.retired():
        _warn_once(spec)
        return name
    error = ModelDeprecatedError(
        f"{deprecation_message(spec)} (Source: {spec.deprecation.source}.)"
    )
    error.model = name
    error.deprecated_on = spec.deprecation.date.isoformat()
    error.replacement = spec.deprecation.replacement
    raise error


def paid_plan_advice(spec: ModelSpec | None, model: str) -> str:
    """What a 403 / 5035 answer should tell the user."""
    free = catalog().alternatives(spec) if spec is not None else []
    instead = f" Free-plan models for the same task: {', '.join(free)}." if free else ""
    return (
        f"{model} needs the Workers Paid plan (or prepaid AI Gateway credits with unified "
        f"billing).{instead}"
    )


__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_BATCH_LIMIT",
    "DEFAULT_EMBEDDING_MODEL",
    "Catalog",
    "Deprecation",
    "ModelSpec",
    "Reasoning",
    "ResultShape",
    "catalog",
    "model_spec",
]
