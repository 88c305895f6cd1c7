"""The model catalog: what ``/ai/models/search`` lists and which names ``/ai/run`` accepts.

Per-model facts (context window, dimensions, tool support) come from ``workers_ai._models``;
this module only turns them into Cloudflare's catalog item shape and filters and pages them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workers_ai._models import (
    KNOWN_MODELS,
    is_embedding_model,
    model_facts,
    result_family,
)
from workers_ai.local.backends import CatalogEntry, Task

# Task ids and descriptions as Cloudflare's catalog reports them (wire contract §1.3; the
# others from the docs' model JSONs, cloudflare-docs src/content/workers-ai-models/*.json).
TASK_IDS: dict[Task, str] = {
    "Text Generation": "c329a1f9-323d-4e91-b2aa-582dd4188d34",
    "Text Embeddings": "0137cdcf-162a-4108-94f2-1ca59e8c65ee",
    "Text-to-Image": "3d6e1f35-341b-4915-a6c8-9a7142a9033a",
    "Automatic Speech Recognition": "dfce1c48-2a81-462e-a7fd-de97ce985207",
    "Image Classification": "00cd182b-bf30-4fc4-8481-84a3ab349657",
    "Object Detection": "9c178979-90d9-49d8-9e2c-0f1cf01815d4",
    "Text Classification": "19606750-23ed-4371-aab2-c20349b53a60",
    "Translation": "f57d07cb-9087-487a-bbbf-bc3e17fecc4b",
    "Summarization": "6f4e65d8-da0f-40d2-9aa4-db582a5a04fd",
    "Image-to-Text": "882a91d1-c331-4eec-bdad-834c919942a8",
}
TASK_DESCRIPTIONS: dict[Task, str] = {
    "Text Generation": "Family of generative text models, such as large language models (LLM), "
    "that can be adapted for a variety of natural language tasks.",
    "Text Embeddings": "Feature extraction models transform raw data into numerical features "
    "that can be processed while preserving the information in the original dataset.",
    "Text-to-Image": "Generates images from input text. These models can be used to generate "
    "and modify images based on text prompts.",
    "Automatic Speech Recognition": "Automatic speech recognition (ASR) models convert a speech "
    "signal, typically an audio input, to text.",
    "Image Classification": "Image classification models take an image input and assigns it "
    "labels or classes.",
    "Object Detection": "Object detection models can detect instances of objects like persons, "
    "faces, license plates, or others in an image.",
    "Text Classification": "Sentiment analysis or text classification is a common NLP task that "
    "classifies a text input into labels or classes.",
    "Translation": "Translation models convert a sequence of text from one language to another.",
    "Summarization": "Summarization is the task of producing a shorter version of a document "
    "while preserving its important information.",
    "Image-to-Text": "Image to text models output a text from a given image.",
}

# Models of the other tasks, answered by workers_ai.local.tasks whatever the backend.
TASK_MODELS: dict[str, Task] = {
    "@cf/stabilityai/stable-diffusion-xl-base-1.0": "Text-to-Image",
    "@cf/bytedance/stable-diffusion-xl-lightning": "Text-to-Image",
    "@cf/lykon/dreamshaper-8-lcm": "Text-to-Image",
    "@cf/black-forest-labs/flux-1-schnell": "Text-to-Image",
    "@cf/openai/whisper": "Automatic Speech Recognition",
    "@cf/openai/whisper-tiny-en": "Automatic Speech Recognition",
    "@cf/openai/whisper-large-v3-turbo": "Automatic Speech Recognition",
    "@cf/microsoft/resnet-50": "Image Classification",
    "@cf/facebook/detr-resnet-50": "Object Detection",
    "@cf/huggingface/distilbert-sst-2-int8": "Text Classification",
    "@cf/meta/m2m100-1.2b": "Translation",
    "@cf/facebook/bart-large-cnn": "Summarization",
    "@cf/llava-hf/llava-1.5-7b-hf": "Image-to-Text",
}

# Real text-generation names beyond KNOWN_MODELS, so that every result family has several
# members and paging has something to page through. Nothing is known about them beyond the name.
EXTRA_TEXT_MODELS: tuple[str, ...] = (
    "@cf/mistralai/mistral-7b-instruct-v0.1",
    "@cf/meta/llama-3-8b-instruct",
    "@cf/meta/llama-3.2-3b-instruct",
    "@cf/meta/llama-2-7b-chat-fp16",
    "@cf/google/gemma-3-12b-it",
    "@cf/qwen/qwq-32b",
)

# bge's documented per-input limit (wire contract §4); used when a model has no context window.
DEFAULT_MAX_INPUT_TOKENS = 512
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 1000
CREATED_AT = "2024-01-01 00:00:00.000"


def echo_catalog() -> tuple[CatalogEntry, ...]:
    """Every known model plus :data:`EXTRA_TEXT_MODELS` and :data:`TASK_MODELS`, by name."""
    names = sorted(set(KNOWN_MODELS) | set(EXTRA_TEXT_MODELS) | set(TASK_MODELS))
    return tuple(_entry(name) for name in names)


def _entry(name: str) -> CatalogEntry:
    task = TASK_MODELS.get(name)
    if task is not None:
        return CatalogEntry(name, task, f"Local echo stand-in for the {name} {task} model.")
    facts = model_facts(name)
    props: list[tuple[str, str]] = []
    if is_embedding_model(name):
        if facts.context_window is not None:
            props.append(("context_window", str(facts.context_window)))
        props.append(("max_input_tokens", str(facts.context_window or DEFAULT_MAX_INPUT_TOKENS)))
        if facts.embedding_dimensions is not None:
            props.append(("output_dimensions", str(facts.embedding_dimensions)))
        description = f"Local echo stand-in for the {name} embedding model (hashed bag of words)."
        return CatalogEntry(name, "Text Embeddings", description, tuple(props))
    if facts.context_window is not None:
        props.append(("context_window", str(facts.context_window)))
        props.append(("max_input_tokens", str(facts.context_window)))
    if facts.function_calling:
        props.append(("function_calling", "true"))
    if facts.vision:
        props.append(("vision", "true"))
    description = (
        f"Local echo stand-in for {name}; answers in the {result_family(name)} result shape."
    )
    return CatalogEntry(name, "Text Generation", description, tuple(props))


def catalog_item(entry: CatalogEntry) -> dict[str, Any]:
    """The JSON object Cloudflare returns for one model (wire contract §1.3)."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, entry.name)),
        "source": 1,
        "name": entry.name,
        "description": entry.description,
        "task": {
            "id": TASK_IDS[entry.task],
            "name": entry.task,
            "description": TASK_DESCRIPTIONS[entry.task],
        },
        "created_at": CREATED_AT,
        "tags": [],
        "properties": [{"property_id": k, "value": v} for k, v in entry.properties],
    }


@dataclass(frozen=True)
class SearchQuery:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    task: str | None = None
    search: str | None = None
    author: str | None = None


def search(
    entries: Sequence[CatalogEntry], query: SearchQuery
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Filter and page the catalog; returns the page's items and Cloudflare's ``result_info``."""
    matches = [e for e in entries if _matches(e, query)]
    start = (query.page - 1) * query.per_page
    page = matches[start : start + query.per_page]
    info = {
        "page": query.page,
        "per_page": query.per_page,
        "count": len(page),
        "total_count": len(matches),
    }
    return [catalog_item(e) for e in page], info


def _matches(entry: CatalogEntry, query: SearchQuery) -> bool:
    if query.task and entry.task.lower() != query.task.strip().lower():
        return False
    if query.author and _author(entry.name) != query.author.strip().lower():
        return False
    if query.search:
        needle = query.search.lower()
        return needle in entry.name.lower() or needle in entry.description.lower()
    return True


def _author(name: str) -> str:
    # "@cf/meta/llama-3.1-8b-instruct" -> "meta"
    parts = name.split("/")
    return parts[1].lower() if len(parts) > 2 else ""
