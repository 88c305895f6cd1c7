"""``WorkersAIEmbeddings``: LangChain embeddings on the Workers AI core client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field

from workers_ai import DEFAULT_EMBEDDING_MODEL
from workers_ai.adapters import (
    DEFAULT_EMBED_CONCURRENCY,
    ConnectionFields,
    embedding_batch_limit,
    map_in_threads,
)


class _Progress(Protocol):
    def update(self, n: int) -> Any: ...


class _NoProgress:
    def update(self, n: int) -> None:
        return None


def batches(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


class WorkersAIEmbeddings(ConnectionFields, Embeddings):
    """Cloudflare Workers AI text embeddings (``@cf/baai/bge-*``, ``bge-m3``, ...).

    Texts are sent ``batch_size`` at a time (never more than the model takes: 100, or 32 for
    qwen3-embedding), up to ``max_concurrency`` batches at once, sync or async. Vectors come
    back in input order as lists of Python floats.

    ```python
    from langchain_workers_ai import WorkersAIEmbeddings

    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-base-en-v1.5")
    embeddings.embed_query("What is Workers AI?")[:3]
    ```
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    model: str = DEFAULT_EMBEDDING_MODEL
    batch_size: int = Field(default=100, ge=1)
    """Texts per request (capped at the model's own limit)."""
    max_concurrency: int = Field(default=DEFAULT_EMBED_CONCURRENCY, ge=1)
    """Requests in flight at once (``embed_documents`` on threads, ``aembed_documents`` on the
    event loop); 1 sends them one after another."""
    show_progress: bool = False
    """Show a tqdm progress bar when the texts take more than one request."""
    use_batch_api: bool = False
    """Queue the requests on Cloudflare's Batch API and poll for the results: for corpora too
    big to push from one machine (slower to start; no progress bar)."""

    def _batches(self, texts: list[str]) -> list[list[str]]:
        if not texts:
            return []
        return batches(list(texts), min(self.batch_size, embedding_batch_limit(self.model)))

    @contextmanager
    def _progress(self, total: int, requests: int) -> Iterator[_Progress]:
        if not self.show_progress or requests < 2:
            yield _NoProgress()
            return
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ImportError(
                "show_progress=True needs tqdm: pip install tqdm (or workers-ai-integrations[all])"
            ) from exc
        with tqdm(total=total, desc="Embedding", unit="text") as bar:
            yield bar

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        client = self.sync_client()
        if self.use_batch_api:
            if not texts:
                return []
            return client.embed(
                self.model, texts, batch_size=self.batch_size, use_batch_api=True
            ).vectors
        planned = self._batches(texts)
        with self._progress(len(texts), len(planned)) as progress:
            results = map_in_threads(
                lambda batch: client.embed(self.model, batch).vectors,
                planned,
                self.max_concurrency,
                on_done=lambda vectors: progress.update(len(vectors)),
            )
        return [vector for batch_vectors in results for vector in batch_vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        client = self.async_client()
        if self.use_batch_api:
            if not texts:
                return []
            result = await client.embed(
                self.model, texts, batch_size=self.batch_size, use_batch_api=True
            )
            return result.vectors
        planned = self._batches(texts)
        gate = asyncio.Semaphore(self.max_concurrency)
        with self._progress(len(texts), len(planned)) as progress:

            async def one(batch: list[str]) -> list[list[float]]:
                async with gate:
                    result = await client.embed(self.model, batch)
                progress.update(len(batch))
                return result.vectors

            results = await asyncio.gather(*(one(batch) for batch in planned))
        return [vector for batch_vectors in results for vector in batch_vectors]

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
