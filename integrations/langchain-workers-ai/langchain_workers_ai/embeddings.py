"""``WorkersAIEmbeddings``: LangChain embeddings on the Workers AI core client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field

from workers_ai import DEFAULT_EMBEDDING_MODEL
from workers_ai.adapters import DEFAULT_EMBED_CONCURRENCY, ConnectionFields, embedding_batch_limit


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
    """Requests (Batch-API jobs, with ``use_batch_api``) in flight at once (``embed_documents``
    on threads, ``aembed_documents`` on the event loop); 1 sends them one after another."""
    show_progress: bool = False
    """Show a tqdm progress bar when the texts take more than one request."""
    use_batch_api: bool = False
    """Queue the requests on Cloudflare's Batch API and poll for the results: for corpora too
    big to push from one machine (slower to start; the progress bar moves a job at a time)."""

    def _requests(self, texts: list[str]) -> int:
        size = min(self.batch_size, embedding_batch_limit(self.model))
        return -(-len(texts) // size)

    @contextmanager
    def _progress(self, texts: list[str]) -> Iterator[Callable[[int], object] | None]:
        """The core's ``on_batch`` callback: a tqdm bar's ``update`` when asked for and the
        texts take more than one request."""
        if not self.show_progress or self._requests(texts) < 2:
            yield None
            return
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ImportError("show_progress=True needs tqdm: pip install tqdm") from exc
        with tqdm(total=len(texts), desc="Embedding", unit="text") as bar:
            yield bar.update

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        client = self.sync_client()
        with self._progress(texts) as on_batch:
            result = client.embed(
                self.model,
                texts,
                batch_size=self.batch_size,
                concurrency=self.max_concurrency,
                on_batch=on_batch,
                use_batch_api=self.use_batch_api,
            )
        return result.vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        client = self.async_client()
        with self._progress(texts) as on_batch:
            result = await client.embed(
                self.model,
                texts,
                batch_size=self.batch_size,
                concurrency=self.max_concurrency,
                on_batch=on_batch,
                use_batch_api=self.use_batch_api,
            )
        return result.vectors

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
