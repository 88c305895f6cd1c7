"""WorkersAIEmbeddings against the local server: batching, order, concurrency, progress."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from langchain_workers_ai import WorkersAIEmbeddings
from workers_ai import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
)
from workers_ai_local import LocalServer

BGE = "@cf/baai/bge-small-en-v1.5"
QWEN = "@cf/qwen/qwen3-embedding-0.6b"


def embed_bodies(server: LocalServer) -> list[dict[str, Any]]:
    return [r["body"] for r in server.requests() if "/ai/run/" in r["path"]]


def texts(n: int) -> list[str]:
    return [f"document number {i} about topic {i % 7}" for i in range(n)]


def test_batch_size_decides_the_requests_and_order_is_kept(server: LocalServer) -> None:
    embeddings = WorkersAIEmbeddings(model=BGE, batch_size=10)
    docs = texts(25)
    vectors = embeddings.embed_documents(docs)
    # The requests go out side by side, so they reach the server in any order.
    sent = sorted((b["text"] for b in embed_bodies(server)), key=lambda batch: docs.index(batch[0]))
    assert sent == [docs[:10], docs[10:20], docs[20:]]
    assert vectors[7] == embeddings.embed_query(docs[7])
    assert len({len(v) for v in vectors}) == 1
    assert all(type(x) is float for v in vectors for x in v)


def test_no_request_carries_more_than_the_model_takes(server: LocalServer) -> None:
    WorkersAIEmbeddings(model=QWEN).embed_documents(texts(70))
    assert sorted(len(b["text"]) for b in embed_bodies(server)) == [6, 32, 32]
    server.reset()
    WorkersAIEmbeddings(model=BGE).embed_documents(texts(250))
    assert sorted(len(b["text"]) for b in embed_bodies(server)) == [50, 100, 100]


def test_empty_input_sends_nothing(server: LocalServer) -> None:
    assert WorkersAIEmbeddings(model=BGE).embed_documents([]) == []
    assert embed_bodies(server) == []


class Gauge:
    """Requests in flight at the transport: the most at once, whatever sends them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


class GaugedTransport(httpx.HTTPTransport):
    def __init__(self, gauge: Gauge) -> None:
        super().__init__()
        self.gauge = gauge

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.gauge.enter()
        try:
            time.sleep(0.02)  # let the other requests start if the limit allows
            return super().handle_request(request)
        finally:
            self.gauge.leave()


class AsyncGaugedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, gauge: Gauge) -> None:
        super().__init__()
        self.gauge = gauge

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.gauge.enter()
        try:
            await asyncio.sleep(0.01)
            return await super().handle_async_request(request)
        finally:
            self.gauge.leave()


@pytest.mark.parametrize("limit", [1, 3])
def test_sync_keeps_order_and_bounds_concurrency(server: LocalServer, limit: int) -> None:
    docs = texts(40)
    expected = [WorkersAIEmbeddings(model=BGE).embed_query(doc) for doc in docs]
    gauge = Gauge()
    with httpx.Client(transport=GaugedTransport(gauge)) as http:
        embeddings = WorkersAIEmbeddings(
            model=BGE, batch_size=5, max_concurrency=limit, http_client=http
        )
        assert embeddings.embed_documents(docs) == expected
    assert gauge.peak == limit


async def test_async_keeps_order_and_bounds_concurrency(server: LocalServer) -> None:
    gauge = Gauge()
    async with httpx.AsyncClient(transport=AsyncGaugedTransport(gauge)) as http:
        embeddings = WorkersAIEmbeddings(
            model=BGE, batch_size=5, max_concurrency=3, async_http_client=http
        )
        docs = texts(40)
        vectors = await embeddings.aembed_documents(docs)
        assert gauge.peak == 3
        assert len(embed_bodies(server)) == 8
        assert vectors == embeddings.embed_documents(docs)
        assert await embeddings.aembed_query(docs[3]) == vectors[3]


def test_retries_through_the_embeddings(server: LocalServer) -> None:
    server.inject("rate_limit", count=1, retry_after=0)
    assert len(WorkersAIEmbeddings(model=BGE, max_retries=1).embed_query("hello")) == 384
    assert [r["status"] for r in server.requests() if "/ai/run/" in r["path"]] == [429, 200]


def test_show_progress_shows_a_bar_for_large_inputs(
    server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    WorkersAIEmbeddings(model=BGE, batch_size=10, show_progress=True).embed_documents(texts(30))
    assert "30/30" in capsys.readouterr().err
    WorkersAIEmbeddings(model=BGE, batch_size=10, show_progress=True).embed_documents(texts(3))
    assert capsys.readouterr().err == ""  # one request: no bar
    WorkersAIEmbeddings(model=BGE, batch_size=10).embed_documents(texts(30))
    assert capsys.readouterr().err == ""


async def test_show_progress_async(server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    embeddings = WorkersAIEmbeddings(model=BGE, batch_size=10, show_progress=True)
    await embeddings.aembed_documents(texts(25))
    assert "25/25" in capsys.readouterr().err


def test_connection_fields_of_the_embeddings(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotFoundError):
        WorkersAIEmbeddings(model=BGE, account_id="someone-else").embed_query("x")
    with pytest.raises(AuthenticationError):
        WorkersAIEmbeddings(model=BGE, api_key="wrong-token").embed_query("x")
    server.inject("latency", delay=2.0)
    with pytest.raises(APITimeoutError):
        WorkersAIEmbeddings(model=BGE, timeout=0.2, max_retries=0).embed_query("x")
    monkeypatch.setenv("WORKERS_AI_GATEWAY_URL", server.gateway_url)
    WorkersAIEmbeddings(model=BGE, gateway_id="my-gateway").embed_query("x")
    assert server.requests()[-1]["gateway_id"] == "my-gateway"
    with pytest.raises(APIConnectionError):
        WorkersAIEmbeddings(
            model=BGE, base_url="http://127.0.0.1:9/client/v4", max_retries=0
        ).embed_query("x")
