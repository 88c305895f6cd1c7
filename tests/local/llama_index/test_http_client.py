"""``http_client=`` and ``async_http_client=`` on WorkersAI and WorkersAIEmbedding.

The same contract as the LangChain classes (tests/local/langchain/test_http_client.py): an
injected ``httpx.Client`` carries every sync request of the object, an injected
``httpx.AsyncClient`` every async one, and the object never closes either (``close()`` and
``aclose()`` close only pools it opened itself). A custom header and an event hook on the
injected client prove each request went through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI
from tests.local.llama_index.conftest import local_embedding, local_llm
from tests.standard.llama_index.conformance import FACT_PROMPT, CityFact

if TYPE_CHECKING:
    from workers_ai_local import LocalServer

MARK = {"x-injected-client": "yes"}
HELLO = [ChatMessage(role="user", content="hello")]


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


def test_llm_sends_every_sync_request_through_the_injected_client(server: LocalServer) -> None:
    recorder = Recorder()
    with recorder.sync_client() as client:
        llm = local_llm(server, http_client=client)
        llm.complete("hello")
        assert list(llm.stream_chat(HELLO))
        llm.structured_predict(CityFact, FACT_PROMPT, year="1624")
        llm.close()
        assert not client.is_closed  # the caller's to close
        llm.chat(HELLO)  # and still used after close()
    all_through(server, recorder, 4)


async def test_llm_sends_every_async_request_through_the_injected_client(
    server: LocalServer,
) -> None:
    recorder = Recorder()
    async with recorder.async_client() as client:
        llm = local_llm(server, async_http_client=client)
        await llm.acomplete("hello")
        assert [r async for r in await llm.astream_chat(HELLO)]
        await llm.astructured_predict(CityFact, FACT_PROMPT, year="1624")
        await llm.aclose()
        assert not client.is_closed
        await llm.achat(HELLO)
    all_through(server, recorder, 4)


def test_embedding_sends_every_sync_request_through_the_injected_client(
    server: LocalServer,
) -> None:
    recorder = Recorder()
    with recorder.sync_client() as client:
        embed_model = local_embedding(server, embed_batch_size=2, http_client=client)
        texts = [f"text {i}" for i in range(5)]
        assert len(embed_model.get_text_embedding_batch(texts)) == 5  # 3 batches
        embed_model.get_query_embedding("hello")
        embed_model.close()
        assert not client.is_closed
        embed_model.get_text_embedding("again")
    all_through(server, recorder, 5)


async def test_embedding_sends_every_async_request_through_the_injected_client(
    server: LocalServer,
) -> None:
    recorder = Recorder()
    async with recorder.async_client() as client:
        embed_model = local_embedding(server, embed_batch_size=2, async_http_client=client)
        texts = [f"text {i}" for i in range(5)]
        assert len(await embed_model.aget_text_embedding_batch(texts)) == 5
        await embed_model.aget_query_embedding("hello")
        await embed_model.aclose()
        assert not client.is_closed
        await embed_model.aget_text_embedding("again")
    all_through(server, recorder, 5)


@pytest.mark.parametrize("cls", [WorkersAI, WorkersAIEmbedding])
def test_a_client_of_the_wrong_kind_is_refused_at_construction(cls: Any) -> None:
    with pytest.raises(TypeError, match=r"http_client must be an httpx\.Client"):
        cls(http_client=httpx.AsyncClient())
    with httpx.Client() as client:
        with pytest.raises(TypeError, match=r"async_http_client must be an httpx\.AsyncClient"):
            cls(async_http_client=client)
