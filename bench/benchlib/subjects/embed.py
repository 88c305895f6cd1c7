"""The embedding subjects: the floor, ours and the peers, each with its default batching.

Every subject runs as a user would run it out of the box: its own default batch size and its
own default concurrency, sync and async. Those numbers decide the wall time of figure 4, so
each subject states them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from benchlib.server.process import Endpoint
from benchlib.subjects.chat import Kind

MODEL = "@cf/baai/bge-base-en-v1.5"  # 768 dimensions
FLOOR_BATCH = 100  # the platform's per-request limit for bge models
FLOOR_CONCURRENCY = 4

Vectors = list[list[float]]


def short_texts(count: int) -> list[str]:
    """``count`` distinct short texts of about ten words."""
    template = "Short text number {} about topic {} and a few more words."
    return [template.format(i, i % 97) for i in range(count)]


class EmbedDriver:
    """One subject's embeddings object: ``embed`` (sync) and ``aembed`` (async) a list."""

    batching = ""  # batch size and concurrency, as the subject does it by default

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.obj: Any = self.construct()

    def construct(self) -> Any:
        raise NotImplementedError

    def embed(self, texts: list[str]) -> Vectors:
        raise NotImplementedError

    async def aembed(self, texts: list[str]) -> Vectors:
        raise NotImplementedError

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def _batches(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


class FloorEmbed(EmbedDriver):
    """Raw httpx, one pooled client: batches of 100, 4 in flight (sync on threads), as ours."""

    batching = f"{FLOOR_BATCH}/request; {FLOOR_CONCURRENCY} in flight, sync (threads) and async"

    def construct(self) -> Any:
        import httpx

        self._headers = {"Authorization": f"Bearer {self.endpoint.token}"}
        self.url = self.endpoint.run_url(MODEL)
        self.aobj: Any = None
        return httpx.Client(headers=self._headers)

    def _post(self, batch: list[str]) -> Vectors:
        response = self.obj.post(self.url, json={"text": batch})
        response.raise_for_status()
        data: Vectors = response.json()["result"]["data"]
        return data

    def embed(self, texts: list[str]) -> Vectors:
        with ThreadPoolExecutor(FLOOR_CONCURRENCY) as threads:
            results = threads.map(self._post, _batches(texts, FLOOR_BATCH))
            return [v for batch in results for v in batch]

    async def aembed(self, texts: list[str]) -> Vectors:
        import httpx

        if self.aobj is None:
            self.aobj = httpx.AsyncClient(headers=self._headers)
        gate = asyncio.Semaphore(FLOOR_CONCURRENCY)

        async def one(batch: list[str]) -> Vectors:
            async with gate:
                response = await self.aobj.post(self.url, json={"text": batch})
            response.raise_for_status()
            data: Vectors = response.json()["result"]["data"]
            return data

        results = await asyncio.gather(*(one(b) for b in _batches(texts, FLOOR_BATCH)))
        return [v for batch in results for v in batch]

    def close(self) -> None:
        self.obj.close()

    async def aclose(self) -> None:
        if self.aobj is not None:
            await self.aobj.aclose()


class CoreEmbed(EmbedDriver):
    batching = "100/request; 4 in flight, sync (threads) and async (embed_concurrency)"

    def construct(self) -> Any:
        from workers_ai import WorkersAI

        self.aobj: Any = None
        return WorkersAI(**self._kwargs())

    def _kwargs(self) -> dict[str, Any]:
        ep = self.endpoint
        return {"account_id": ep.account_id, "api_token": ep.token, "base_url": ep.base_url}

    def embed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = self.obj.embed(MODEL, texts).vectors
        return vectors

    async def aembed(self, texts: list[str]) -> Vectors:
        if self.aobj is None:
            from workers_ai import AsyncWorkersAI

            self.aobj = AsyncWorkersAI(**self._kwargs())
        vectors: Vectors = (await self.aobj.embed(MODEL, texts)).vectors
        return vectors

    def close(self) -> None:
        self.obj.close()

    async def aclose(self) -> None:
        if self.aobj is not None:
            await self.aobj.aclose()


class OursLangChainEmbed(EmbedDriver):
    batching = "100/request (batch_size); 4 in flight, sync (threads) and async (max_concurrency)"

    def construct(self) -> Any:
        from langchain_workers_ai import WorkersAIEmbeddings

        ep = self.endpoint
        return WorkersAIEmbeddings(
            model=MODEL, account_id=ep.account_id, api_token=ep.token, base_url=ep.base_url
        )

    def embed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = self.obj.embed_documents(texts)
        return vectors

    async def aembed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = await self.obj.aembed_documents(texts)
        return vectors

    def close(self) -> None:
        self.obj.close()

    async def aclose(self) -> None:
        await self.obj.aclose()


class OursLlamaIndexEmbed(EmbedDriver):
    batching = (
        "100/request (embed_batch_size); sync: sequential (LlamaIndex's loop); "
        "async 4 in flight (num_workers)"
    )

    def construct(self) -> Any:
        from llama_index.embeddings.workers_ai import WorkersAIEmbedding

        ep = self.endpoint
        return WorkersAIEmbedding(
            model_name=MODEL, account_id=ep.account_id, api_token=ep.token, base_url=ep.base_url
        )

    def embed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = self.obj.get_text_embedding_batch(texts)
        return vectors

    async def aembed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = await self.obj.aget_text_embedding_batch(texts)
        return vectors

    def close(self) -> None:
        self.obj.close()

    async def aclose(self) -> None:
        await self.obj.aclose()


class PeerLangChainEmbed(EmbedDriver):
    """langchain-cloudflare ``CloudflareWorkersAIEmbeddings``, pointed by ``api_base_url``."""

    batching = "50/request (batch_size), sequential; async: sequential, new AsyncClient per call"

    def construct(self) -> Any:
        from langchain_cloudflare import CloudflareWorkersAIEmbeddings

        ep = self.endpoint
        return CloudflareWorkersAIEmbeddings(
            model_name=MODEL,
            account_id=ep.account_id,
            api_token=ep.token,
            api_base_url=ep.accounts_url,
        )

    def embed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = self.obj.embed_documents(texts)
        return vectors

    async def aembed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = await self.obj.aembed_documents(texts)
        return vectors


class PeerLlamaIndexEmbed(EmbedDriver):
    """llama-index-embeddings-cloudflare-workersai ``CloudflareEmbedding``.

    It has no base-URL option: every request URL is formatted from the module constant
    ``API_URL_TEMPLATE`` at call time, so that constant is set to the local server's template
    (the class's code is untouched)."""

    batching = (
        "10/request (LlamaIndex default embed_batch_size); async: all batches at once, "
        "new aiohttp session per batch"
    )

    def construct(self) -> Any:
        from llama_index.embeddings.cloudflare_workersai import CloudflareEmbedding, base

        ep = self.endpoint
        base.API_URL_TEMPLATE = f"{ep.accounts_url}/{{}}/ai/run/{{}}"
        return CloudflareEmbedding(account_id=ep.account_id, auth_token=ep.token, model=MODEL)

    def embed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = self.obj.get_text_embedding_batch(texts)
        return vectors

    async def aembed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = await self.obj.aget_text_embedding_batch(texts)
        return vectors


@dataclass(frozen=True)
class EmbedSubject:
    key: str
    label: str
    kind: Kind
    package: str
    module: str
    how: str
    driver: Callable[[Endpoint], EmbedDriver]


EMBED_SUBJECTS: tuple[EmbedSubject, ...] = (
    EmbedSubject(
        "floor",
        "floor: httpx",
        "floor",
        "httpx",
        "httpx",
        "pooled httpx.Client, POST /ai/run/{model} + .json()",
        FloorEmbed,
    ),
    EmbedSubject(
        "core",
        "core WorkersAI",
        "ours",
        "workers-ai",
        "workers_ai",
        "base_url=",
        CoreEmbed,
    ),
    EmbedSubject(
        "lc_ours",
        "WorkersAIEmbeddings",
        "ours",
        "langchain-workers-ai",
        "langchain_workers_ai",
        "base_url=",
        OursLangChainEmbed,
    ),
    EmbedSubject(
        "li_ours",
        "WorkersAIEmbedding",
        "ours",
        "llama-index-embeddings-workers-ai",
        "llama_index.embeddings.workers_ai",
        "base_url=",
        OursLlamaIndexEmbed,
    ),
    EmbedSubject(
        "lc_cloudflare",
        "CloudflareWorkersAIEmbeddings",
        "peer",
        "langchain-cloudflare",
        "langchain_cloudflare",
        "api_base_url=<server>/client/v4/accounts",
        PeerLangChainEmbed,
    ),
    EmbedSubject(
        "li_cloudflare",
        "CloudflareEmbedding",
        "peer",
        "llama-index-embeddings-cloudflare-workersai",
        "llama_index.embeddings.cloudflare_workersai",
        "no base-URL option: module constant API_URL_TEMPLATE set to the server's",
        PeerLlamaIndexEmbed,
    ),
)


def embed_subject(key: str) -> EmbedSubject:
    for subject in EMBED_SUBJECTS:
        if subject.key == key:
            return subject
    raise KeyError(key)
