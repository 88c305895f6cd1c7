"""Facts about Workers AI models that the wire does not tell us, kept in one place.

Both the client (request shaping, batch limits) and the local server (which response family to
answer in) read this module, so a model's quirks are written down exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ResultFamily = Literal["legacy", "scout", "openai"]
"""The three shapes of a text-generation ``result`` (wire contract §2.3).

- ``legacy``: ``{"response": str | object, "tool_calls": [{"name", "arguments": object}], "usage"}``
- ``scout``:  like legacy, but tool calls are OpenAI-shaped with object arguments (llama-4-scout)
- ``openai``: a whole ``chat.completion`` object inside ``result`` (qwen3, gpt-oss, kimi, glm, ...)
"""

DEFAULT_CHAT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
DEFAULT_EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"

# Cloudflare's documented per-request cap on embedding inputs (bge-*: maxItems 100).
DEFAULT_EMBEDDING_BATCH_LIMIT = 100

_OPENAI_FAMILY = re.compile(r"gpt-oss|qwen3|qwq|kimi|glm|gemma-4|nemotron", re.IGNORECASE)
_SCOUT_FAMILY = re.compile(r"llama-4", re.IGNORECASE)


@dataclass(frozen=True)
class ModelFacts:
    """What we know about a model before asking the catalog."""

    context_window: int | None = None
    function_calling: bool = False
    embedding_batch_limit: int | None = None
    embedding_dimensions: int | None = None
    vision: bool = False


# Sources: shared/reference/workers-ai-wire-contract.md (docs model JSONs, §1.3 and §4).
KNOWN_MODELS: dict[str, ModelFacts] = {
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast": ModelFacts(
        context_window=24000, function_calling=True
    ),
    "@cf/meta/llama-3.1-8b-instruct": ModelFacts(context_window=7968),
    "@cf/meta/llama-3.1-8b-instruct-fast": ModelFacts(context_window=128000),
    "@cf/meta/llama-3.2-11b-vision-instruct": ModelFacts(context_window=128000, vision=True),
    "@cf/meta/llama-4-scout-17b-16e-instruct": ModelFacts(
        context_window=131000, function_calling=True, vision=True
    ),
    "@hf/nousresearch/hermes-2-pro-mistral-7b": ModelFacts(
        context_window=24000, function_calling=True
    ),
    "@cf/mistralai/mistral-small-3.1-24b-instruct": ModelFacts(
        context_window=128000, function_calling=True, vision=True
    ),
    "@cf/qwen/qwen3-30b-a3b-fp8": ModelFacts(context_window=32768, function_calling=True),
    "@cf/openai/gpt-oss-120b": ModelFacts(context_window=128000, function_calling=True),
    "@cf/openai/gpt-oss-20b": ModelFacts(context_window=128000, function_calling=True),
    "@cf/baai/bge-small-en-v1.5": ModelFacts(embedding_batch_limit=100, embedding_dimensions=384),
    "@cf/baai/bge-base-en-v1.5": ModelFacts(embedding_batch_limit=100, embedding_dimensions=768),
    "@cf/baai/bge-large-en-v1.5": ModelFacts(embedding_batch_limit=100, embedding_dimensions=1024),
    "@cf/baai/bge-m3": ModelFacts(
        context_window=60000, embedding_batch_limit=100, embedding_dimensions=1024
    ),
    "@cf/qwen/qwen3-embedding-0.6b": ModelFacts(
        context_window=8192, embedding_batch_limit=32, embedding_dimensions=1024
    ),
    "@cf/google/embeddinggemma-300m": ModelFacts(embedding_dimensions=768),
    "@cf/pfnet/plamo-embedding-1b": ModelFacts(embedding_dimensions=2048),
}


def model_facts(model: str) -> ModelFacts:
    return KNOWN_MODELS.get(model, ModelFacts())


def takes_images(model: str) -> bool | None:
    """Whether a chat model takes image input: True or False when we know, None when not
    (an unknown model is left to Cloudflare to judge)."""
    if model not in KNOWN_MODELS:
        return None
    return KNOWN_MODELS[model].vision


def vision_models() -> list[str]:
    return sorted(name for name, facts in KNOWN_MODELS.items() if facts.vision)


def result_family(model: str) -> ResultFamily:
    """Which ``result`` shape a text-generation model answers with."""
    if _OPENAI_FAMILY.search(model):
        return "openai"
    if _SCOUT_FAMILY.search(model):
        return "scout"
    return "legacy"


def embedding_batch_limit(model: str) -> int:
    """Most texts one embeddings request may carry for ``model``."""
    return model_facts(model).embedding_batch_limit or DEFAULT_EMBEDDING_BATCH_LIMIT


def is_embedding_model(model: str) -> bool:
    """A name-based guess, used only where no catalog is at hand (the echo server)."""
    return bool(re.search(r"bge-|embedding|embed", model, re.IGNORECASE))
