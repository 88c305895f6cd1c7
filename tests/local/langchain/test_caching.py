"""LangChain's caches in front of Workers AI: a cache hit makes no request.

- ``set_llm_cache`` (global) and the per-model ``cache=`` field serve ``invoke``/``ainvoke``
  (and ``invoke`` of a ``streaming=True`` model) from the cache.
- ``.stream()``/``.astream()`` never consult the cache in langchain-core 1.x: every call streams
  from the server.
- ``CacheBackedEmbeddings`` (package ``langchain-classic``) caches WorkersAIEmbeddings per text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_core.caches import InMemoryCache
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.messages import HumanMessage
from langchain_core.stores import InMemoryByteStore

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from workers_ai_local import LocalServer

LEGACY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
BGE = "@cf/baai/bge-small-en-v1.5"


def data_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/ai/run/" in r["path"]]


@pytest.fixture
def global_cache() -> Iterator[InMemoryCache]:
    previous = get_llm_cache()
    cache = InMemoryCache()
    set_llm_cache(cache)
    try:
        yield cache
    finally:
        set_llm_cache(previous)


# -- chat: the global cache -----------------------------------------------------------------------


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
def test_a_second_identical_invoke_makes_no_request(
    server: LocalServer, global_cache: InMemoryCache, model: str
) -> None:
    llm = ChatWorkersAI(model=model, temperature=0)
    first = llm.invoke("What is Workers AI?")
    second = llm.invoke("What is Workers AI?")
    assert len(data_requests(server)) == 1
    assert second.content == first.content == "Echo: What is Workers AI?"
    assert second.usage_metadata is not None
    assert second.usage_metadata["input_tokens"] == first.usage_metadata["input_tokens"]  # type: ignore[index]
    assert second.response_metadata.get("model_name") == first.response_metadata.get("model_name")


async def test_a_second_identical_ainvoke_makes_no_request(
    server: LocalServer, global_cache: InMemoryCache
) -> None:
    llm = ChatWorkersAI(model=LEGACY)
    first = await llm.ainvoke([HumanMessage("hello there")])
    second = await llm.ainvoke([HumanMessage("hello there")])
    assert second.content == first.content
    assert len(data_requests(server)) == 1
    # sync and async share the cache entry
    assert llm.invoke([HumanMessage("hello there")]).content == first.content
    assert len(data_requests(server)) == 1


def test_what_is_sent_decides_the_cache_entry(
    server: LocalServer, global_cache: InMemoryCache
) -> None:
    llm = ChatWorkersAI(model=LEGACY, temperature=0)
    llm.invoke("same question")
    llm.invoke("another question")  # other messages
    ChatWorkersAI(model=LEGACY, temperature=0.5).invoke("same question")  # other sampling
    ChatWorkersAI(model=OPENAI, temperature=0).invoke("same question")  # other model
    llm.invoke("same question", max_tokens=20)  # other call options
    llm.invoke("same question", stop=["."])  # other stop
    assert len(data_requests(server)) == 6
    for question in ("same question", "another question"):
        llm.invoke(question)
    assert len(data_requests(server)) == 6


def test_cache_false_opts_a_model_out_of_the_global_cache(
    server: LocalServer, global_cache: InMemoryCache
) -> None:
    llm = ChatWorkersAI(model=LEGACY, cache=False)
    llm.invoke("hi")
    llm.invoke("hi")
    assert len(data_requests(server)) == 2


def test_streaming_true_invoke_is_cached_too(
    server: LocalServer, global_cache: InMemoryCache
) -> None:
    llm = ChatWorkersAI(model=LEGACY, streaming=True)
    first = llm.invoke("stream me")
    assert data_requests(server)[0]["body"]["stream"] is True
    second = llm.invoke("stream me")
    assert second.content == first.content == "Echo: stream me"
    assert len(data_requests(server)) == 1


async def test_stream_and_astream_do_not_consult_the_cache(
    server: LocalServer, global_cache: InMemoryCache
) -> None:
    llm = ChatWorkersAI(model=LEGACY)
    llm.invoke("stream me")
    streamed = "".join(str(chunk.content) for chunk in llm.stream("stream me"))
    astreamed = "".join([str(chunk.content) async for chunk in llm.astream("stream me")])
    assert streamed == astreamed == "Echo: stream me"
    assert len(data_requests(server)) == 3  # langchain-core streams past the cache


# -- chat: the per-model cache --------------------------------------------------------------------


def test_a_per_model_cache_needs_no_global_one(server: LocalServer) -> None:
    assert get_llm_cache() is None
    cache = InMemoryCache()
    llm = ChatWorkersAI(model=LEGACY, cache=cache)
    llm.invoke("cached per model")
    llm.invoke("cached per model")
    assert len(data_requests(server)) == 1
    ChatWorkersAI(model=LEGACY).invoke("cached per model")  # no cache: a request
    assert len(data_requests(server)) == 2
    cache.clear()
    llm.invoke("cached per model")
    assert len(data_requests(server)) == 3


def test_tool_calls_come_back_from_the_cache(
    server: LocalServer, global_cache: InMemoryCache
) -> None:
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny in {city}"

    llm = ChatWorkersAI(model=LEGACY).bind_tools([get_weather], tool_choice="get_weather")
    first = llm.invoke("weather in Paris")
    second = llm.invoke("weather in Paris")
    assert len(data_requests(server)) == 1
    assert second.tool_calls == first.tool_calls  # type: ignore[attr-defined]
    assert first.tool_calls[0]["name"] == "get_weather"  # type: ignore[attr-defined]


# -- embeddings -----------------------------------------------------------------------------------


def test_vectors_do_not_depend_on_the_batch_they_came_in(server: LocalServer) -> None:
    """What per-text embedding caches rely on: a text's vector is the same whichever batch (or
    embed_query) it came from, so cached and fresh vectors mix."""
    embeddings = WorkersAIEmbeddings(model=BGE, batch_size=3)
    texts = [f"text {i}" for i in range(7)]
    whole = embeddings.embed_documents(texts)
    assert embeddings.embed_documents(texts[2:5]) == whole[2:5]
    assert embeddings.embed_query(texts[6]) == whole[6]


def test_cache_backed_embeddings_embed_each_text_once(server: LocalServer) -> None:
    store = InMemoryByteStore()
    cached = CacheBackedEmbeddings.from_bytes_store(
        WorkersAIEmbeddings(model=BGE),
        store,
        namespace=BGE,
        query_embedding_cache=True,
        key_encoder="sha256",
    )
    texts = ["alpha", "beta", "gamma"]
    first = cached.embed_documents(texts)
    assert len(data_requests(server)) == 1
    assert cached.embed_documents(texts) == first
    assert len(data_requests(server)) == 1
    mixed = cached.embed_documents(["beta", "delta"])
    assert mixed[0] == first[1]
    assert [r["body"]["text"] for r in data_requests(server)][1:] == [["delta"]]
    cached.embed_query("alpha?")
    cached.embed_query("alpha?")
    assert len(data_requests(server)) == 3


async def test_cache_backed_embeddings_async(server: LocalServer) -> None:
    cached = CacheBackedEmbeddings.from_bytes_store(
        WorkersAIEmbeddings(model=BGE), InMemoryByteStore(), namespace=BGE, key_encoder="sha256"
    )
    first = await cached.aembed_documents(["one", "two"])
    assert await cached.aembed_documents(["two", "one"]) == first[::-1]
    assert len(data_requests(server)) == 1
