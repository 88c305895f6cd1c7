"""``http_client=`` and ``async_http_client=`` on ChatWorkersAI and WorkersAIEmbeddings.

The same contract as the LlamaIndex classes (tests/local/llama_index/test_http_client.py): an
injected ``httpx.Client`` carries every sync request of the object, an injected
``httpx.AsyncClient`` every async one, and the object never closes either (``close()`` and
``aclose()`` close only pools it opened itself). A custom header and an event hook on the
injected client prove each request went through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
from pydantic import BaseModel

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings

if TYPE_CHECKING:
    from workers_ai_local import LocalServer

LEGACY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
MARK = {"x-injected-client": "yes"}


class Joke(BaseModel):
    setup: str
    punchline: str


class Recorder:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def sync_client(self) -> httpx.Client:
        return httpx.Client(headers=MARK, event_hooks={"request": [self._seen]})

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(headers=MARK, event_hooks={"request": [self._aseen]})

    def _seen(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path)

    async def _aseen(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path)


def all_through(server: LocalServer, recorder: Recorder, expected: int) -> None:
    sent = server.requests()
    assert len(sent) == len(recorder.paths) == expected
    assert [r["path"] for r in sent] == recorder.paths
    assert all(r["headers"].get("x-injected-client") == "yes" for r in sent)


def test_chat_sends_every_sync_request_through_the_injected_client(server: LocalServer) -> None:
    recorder = Recorder()
    with recorder.sync_client() as client:
        llm = ChatWorkersAI(model=LEGACY, http_client=client)
        assert llm.model_kwargs == {}  # not taken for a request field
        llm.invoke("hello")
        assert "".join(str(c.content) for c in llm.stream("hello"))
        llm.with_structured_output(Joke).invoke("cats")
        llm.close()
        assert not client.is_closed  # the caller's to close
        llm.invoke("again")  # and still used after close()
    all_through(server, recorder, 4)


async def test_chat_sends_every_async_request_through_the_injected_client(
    server: LocalServer,
) -> None:
    recorder = Recorder()
    async with recorder.async_client() as client:
        llm = ChatWorkersAI(model=LEGACY, async_http_client=client)
        await llm.ainvoke("hello")
        assert [chunk async for chunk in llm.astream("hello")]
        await llm.with_structured_output(Joke).ainvoke("cats")
        await llm.aclose()
        assert not client.is_closed
        await llm.ainvoke("again")
    all_through(server, recorder, 4)


def test_embeddings_send_every_sync_request_through_the_injected_client(
    server: LocalServer,
) -> None:
    recorder = Recorder()
    with recorder.sync_client() as client:
        embeddings = WorkersAIEmbeddings(batch_size=2, max_concurrency=3, http_client=client)
        assert len(embeddings.embed_documents([f"text {i}" for i in range(5)])) == 5  # 3 batches
        embeddings.embed_query("hello")
        embeddings.close()
        assert not client.is_closed
        embeddings.embed_query("again")
    all_through(server, recorder, 5)


async def test_embeddings_send_every_async_request_through_the_injected_client(
    server: LocalServer,
) -> None:
    recorder = Recorder()
    async with recorder.async_client() as client:
        embeddings = WorkersAIEmbeddings(batch_size=2, async_http_client=client)
        assert len(await embeddings.aembed_documents([f"text {i}" for i in range(5)])) == 5
        await embeddings.aembed_query("hello")
        await embeddings.aclose()
        assert not client.is_closed
        await embeddings.aembed_query("again")
    all_through(server, recorder, 5)


@pytest.mark.parametrize("cls", [ChatWorkersAI, WorkersAIEmbeddings])
def test_a_client_of_the_wrong_kind_is_refused_at_construction(cls: Any) -> None:
    with pytest.raises(TypeError, match=r"http_client must be an httpx\.Client"):
        cls(http_client=httpx.AsyncClient())
    with httpx.Client() as client:
        with pytest.raises(TypeError, match=r"async_http_client must be an httpx\.AsyncClient"):
            cls(async_http_client=client)
