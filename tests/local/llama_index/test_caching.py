"""WorkersAIEmbedding honours LlamaIndex's ``embeddings_cache``: a text embedded once is not sent
again, sync or async, alone, in a batch or as a query."""

from __future__ import annotations

from pathlib import Path

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.storage.kvstore import SimpleKVStore

from tests.local.llama_index.conftest import local_embedding
from workers_ai_local import LocalServer

BGE = "@cf/baai/bge-base-en-v1.5"
QWEN = "@cf/qwen/qwen3-embedding-0.6b"


def embed_texts(server: LocalServer) -> list[list[str]]:
    return [r["body"]["text"] for r in server.requests() if "/ai/run/" in r["path"]]


def test_a_batch_embedded_twice_is_sent_once(server: LocalServer) -> None:
    embed_model = local_embedding(server, model_name=BGE, embeddings_cache=SimpleKVStore())
    texts = ["alpha", "beta", "gamma"]
    first = embed_model.get_text_embedding_batch(texts)
    second = embed_model.get_text_embedding_batch(texts)
    assert second == first
    assert embed_texts(server) == [texts]


def test_only_the_texts_not_yet_cached_are_sent(server: LocalServer) -> None:
    embed_model = local_embedding(server, model_name=BGE, embeddings_cache=SimpleKVStore())
    first = embed_model.get_text_embedding_batch(["alpha", "beta"])
    mixed = embed_model.get_text_embedding_batch(["beta", "delta", "alpha"])
    assert mixed[0] == first[1]
    assert mixed[2] == first[0]
    assert embed_texts(server) == [["alpha", "beta"], ["delta"]]


def test_single_texts_and_queries_are_cached(server: LocalServer) -> None:
    embed_model = local_embedding(server, model_name=BGE, embeddings_cache=SimpleKVStore())
    text_vector = embed_model.get_text_embedding("hello")
    assert embed_model.get_text_embedding("hello") == text_vector
    query_vector = embed_model.get_query_embedding("what is hello?")
    assert embed_model.get_query_embedding("what is hello?") == query_vector
    assert embed_texts(server) == [["hello"], ["what is hello?"]]


async def test_async_embedding_uses_the_cache(server: LocalServer) -> None:
    embed_model = local_embedding(server, model_name=QWEN, embeddings_cache=SimpleKVStore())
    texts = [f"text {i}" for i in range(40)]  # two requests: qwen takes 32 texts at a time
    first = await embed_model.aget_text_embedding_batch(texts)
    assert await embed_model.aget_text_embedding_batch(texts) == first
    assert await embed_model.aget_query_embedding("text 3") == first[3]
    assert await embed_model.aget_text_embedding("text 39") == first[39]
    assert sorted(len(batch) for batch in embed_texts(server)) == [8, 32]


def test_the_cache_persists_and_serves_a_new_embedding_object(
    server: LocalServer, tmp_path: Path
) -> None:
    store = SimpleKVStore()
    local_embedding(server, model_name=BGE, embeddings_cache=store).get_text_embedding_batch(
        ["persisted"]
    )
    path = tmp_path / "embeddings_cache.json"
    store.persist(str(path))
    reloaded = SimpleKVStore.from_persist_path(str(path))
    again = local_embedding(server, model_name=BGE, embeddings_cache=reloaded)
    again.get_text_embedding_batch(["persisted"])
    assert embed_texts(server) == [["persisted"]]


def test_rebuilding_an_index_embeds_nothing_new(server: LocalServer) -> None:
    embed_model = local_embedding(server, model_name=BGE, embeddings_cache=SimpleKVStore())
    documents = [Document(text=f"Document {i} about Workers AI.") for i in range(5)]
    VectorStoreIndex.from_documents(documents, embed_model=embed_model)
    requests = len(embed_texts(server))
    index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
    assert len(embed_texts(server)) == requests
    nodes = index.as_retriever(similarity_top_k=1).retrieve("Document 3 about Workers AI.")
    assert nodes[0].node.get_content() == documents[3].text


def test_without_a_cache_every_call_is_sent(server: LocalServer) -> None:
    embed_model = local_embedding(server, model_name=BGE)
    embed_model.get_text_embedding_batch(["alpha"])
    embed_model.get_text_embedding_batch(["alpha"])
    assert embed_texts(server) == [["alpha"], ["alpha"]]
