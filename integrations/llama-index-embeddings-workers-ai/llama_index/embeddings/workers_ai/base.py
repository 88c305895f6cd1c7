"""``WorkersAIEmbedding``: Cloudflare Workers AI embedding models as a LlamaIndex ``BaseEmbedding``.

LlamaIndex batches texts by ``embed_batch_size`` (100 by default, never above what the model
takes per request); each batch is one request. Async batches run concurrently, at most
``num_workers`` at a time (LlamaIndex itself bounds them only when ``num_workers > 1``, so the
bound is also kept here, per event loop).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr, model_validator
from typing_extensions import Self

from workers_ai import DEFAULT_EMBEDDING_MODEL
from workers_ai.adapters import (
    DEFAULT_EMBED_CONCURRENCY,
    DEFAULT_EMBEDDING_BATCH_LIMIT,
    ConnectionFields,
    embedding_batch_limit,
    refuse_unknown_arguments,
)


class _LoopGates:
    """A semaphore per event loop (a semaphore belongs to the loop that uses it)."""

    def __init__(self) -> None:
        self._gates: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[int, asyncio.Semaphore]
        ] = weakref.WeakKeyDictionary()

    def gate(self, size: int) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        found = self._gates.get(loop)
        if found is None or found[0] != size:
            found = self._gates[loop] = (size, asyncio.Semaphore(size))
        return found[1]

    def __reduce__(self) -> tuple[type[_LoopGates], tuple[()]]:
        return (_LoopGates, ())  # pickles (and copies) as a fresh, empty set of gates


class WorkersAIEmbedding(BaseEmbedding, ConnectionFields):
    """Cloudflare Workers AI embeddings (credentials and endpoint as for ``WorkersAI``).

    from llama_index.embeddings.workers_ai import WorkersAIEmbedding

    embed_model = WorkersAIEmbedding(model_name="@cf/baai/bge-base-en-v1.5")
    vector = embed_model.get_text_embedding("Hello")
    """

    model_name: str = Field(
        default=DEFAULT_EMBEDDING_MODEL, description="The Workers AI embedding model name."
    )
    embed_batch_size: int = Field(
        default=DEFAULT_EMBEDDING_BATCH_LIMIT,
        gt=0,
        le=2048,
        description="Texts per request, lowered to the model's per-request limit; with "
        "use_batch_api, texts per queued batch job (split into requests the model takes).",
    )
    num_workers: int | None = Field(
        default=DEFAULT_EMBED_CONCURRENCY,
        ge=1,
        description="Most batches embedded at once by the async methods.",
    )

    use_batch_api: bool = Field(
        default=False,
        description="Queue requests on Cloudflare's Batch API and poll for the results: for "
        "corpora too big to push from one machine. Raise embed_batch_size (up to 2048) so each "
        "job carries many requests.",
    )

    show_progress: bool = Field(
        default=False,
        description="Show a progress bar on every batch call (get_text_embedding_batch and "
        "its async twin, as an index or ingestion pipeline makes); a call's show_progress=True "
        "shows one too.",
    )

    _gates: _LoopGates = PrivateAttr(default_factory=lambda: _LoopGates())

    # Misspelt arguments are refused, not dropped (a silently ignored modelname= would embed
    # with the default model).
    @model_validator(mode="before")
    @classmethod
    def _known_arguments_only(cls, data: Any) -> Any:
        refuse_unknown_arguments(cls, data)
        return data

    @model_validator(mode="after")
    def _batch_within_model_limit(self) -> Self:
        if not self.use_batch_api:
            limit = embedding_batch_limit(self.model_name)
            self.embed_batch_size = min(self.embed_batch_size, limit)
        return self

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIEmbedding"

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        return super().get_text_embedding_batch(
            texts, show_progress=show_progress or self.show_progress, **kwargs
        )

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        return await super().aget_text_embedding_batch(
            texts, show_progress=show_progress or self.show_progress, **kwargs
        )

    def _embed(self, texts: list[str]) -> list[Embedding]:
        client = self.sync_client()
        return client.embed(self.model_name, texts, use_batch_api=self.use_batch_api).vectors

    async def _aembed(self, texts: list[str]) -> list[Embedding]:
        client = self.async_client()
        async with self._gates.gate(self.num_workers or DEFAULT_EMBED_CONCURRENCY):
            result = await client.embed(self.model_name, texts, use_batch_api=self.use_batch_api)
        return result.vectors

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embed([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aembed([query]))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self._aembed(texts)
