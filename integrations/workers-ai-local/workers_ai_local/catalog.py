"""The local catalog: what ``/ai/models/search`` lists and which names ``/ai/run`` accepts.

Every model of the packaged catalog (``workers_ai._catalog``) that Cloudflare has not retired,
with its properties exactly as Cloudflare's catalog lists them; this module turns them into
Cloudflare's item shape and filters and pages them as ``/ai/models/search`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workers_ai._catalog import ModelSpec, catalog
from workers_ai_local.backends import CatalogEntry

# Task ids and descriptions as Cloudflare's catalog reports them (wire contract §1.3; the
# others from the docs' model JSONs, cloudflare-docs src/content/workers-ai-models/*.json).
TASK_IDS: dict[str, str] = {
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
TASK_DESCRIPTIONS: dict[str, str] = {
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

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 1000
CREATED_AT = "2024-01-01 00:00:00.000"  # for models whose catalog entry has no date
LOCAL_SOURCE = 1  # the ``source`` Cloudflare gives its own models


def _describe(spec: ModelSpec) -> str:
    if spec.description:
        return spec.description
    if spec.task == "Text Generation":
        return (
            f"Local stand-in for {spec.name}; answers in its {spec.result_shape or 'openai'} shape."
        )
    return f"Local stand-in for the {spec.name} {spec.task} model."


def served_catalog() -> tuple[CatalogEntry, ...]:
    """Every model Cloudflare still serves, by name, with its catalog properties."""
    return tuple(
        CatalogEntry(spec.name, spec.task, _describe(spec), tuple(spec.properties.items()))
        for spec in sorted(catalog(), key=lambda s: s.name)
        if not spec.retired()
    )


def _task_id(task: str) -> str:
    return TASK_IDS.get(task) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"task:{task}"))


def catalog_item(entry: CatalogEntry) -> dict[str, Any]:
    """The JSON object Cloudflare returns for one model (wire contract §1.3)."""
    spec = catalog().get(entry.name)
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, entry.name)),
        "source": LOCAL_SOURCE,
        "name": entry.name,
        "description": entry.description,
        "task": {
            "id": _task_id(entry.task),
            "name": entry.task,
            "description": TASK_DESCRIPTIONS.get(entry.task, entry.task),
        },
        "created_at": (spec.created_at if spec is not None else None) or CREATED_AT,
        "tags": [],
        "properties": [{"property_id": k, "value": v} for k, v in entry.properties],
    }


@dataclass(frozen=True)
class SearchQuery:
    """``/ai/models/search``'s query parameters (the Cloudflare SDKs' ModelListParams)."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    task: str | None = None
    search: str | None = None
    author: str | None = None
    source: int | None = None
    hide_experimental: bool = False


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


def _experimental(entry: CatalogEntry) -> bool:
    return str(dict(entry.properties).get("beta", "")).lower() == "true"


def _matches(entry: CatalogEntry, query: SearchQuery) -> bool:
    if query.task and entry.task.lower() != query.task.strip().lower():
        return False
    if query.author and _author(entry.name) != query.author.strip().lower():
        return False
    if query.source is not None and query.source != LOCAL_SOURCE:
        return False
    if query.hide_experimental and _experimental(entry):
        return False
    if query.search:
        needle = query.search.lower()
        return needle in entry.name.lower() or needle in entry.description.lower()
    return True


def _author(name: str) -> str:
    # "@cf/meta/llama-3.1-8b-instruct-fp8" -> "meta"
    parts = name.split("/")
    return parts[1].lower() if len(parts) > 2 else ""
