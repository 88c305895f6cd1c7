"""The production knobs as LlamaIndex fields (and per call): fallback models, a client-side rate
limit, AI Gateway options and the Batch API for embeddings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage

from tests.local.llama_index.conftest import local_embedding, local_llm

PRIMARY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
BACKUP = "@cf/meta/llama-3.1-8b-instruct-fp8"
EMBED = "@cf/baai/bge-small-en-v1.5"
ASK = [ChatMessage(role="user", content="hello there")]


def asked(server: Any) -> list[str]:
    return [e["path"].split("/workers-ai/")[-1].split("/ai/run/")[-1] for e in server.requests()]


def gateway(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKERS_AI_GATEWAY_URL", server.gateway_url)


def test_fallback_models_field_and_per_call(server: Any) -> None:
    llm = local_llm(server, model=PRIMARY, fallback_models=[BACKUP])
    server.inject("server_error", count=1)
    response = llm.chat(ASK)
    assert response.additional_kwargs["model"] == BACKUP  # the model that answered
    assert "hello there" in str(response.message.content)
    server.inject("server_error", count=1)
    assert "hello there" in llm.complete("hello there", fallback_models=[BACKUP]).text
    server.inject("server_error", count=1)
    with pytest.raises(Exception, match="500"):
        llm.chat(ASK, fallback_models=[])
    assert asked(server) == [PRIMARY, BACKUP, PRIMARY, BACKUP, PRIMARY]


def test_streaming_and_async_fall_back(server: Any) -> None:
    llm = local_llm(server, model=PRIMARY, fallback_models=[BACKUP])
    server.inject("rate_limit", count=1, retry_after=0)
    *_, last = llm.stream_chat(ASK)
    assert "hello there" in str(last.message.content)

    async def both() -> None:
        server.inject("server_error", count=1)
        assert "hello there" in str((await llm.achat(ASK)).message.content)
        server.inject("server_error", count=1)
        stream = await llm.astream_chat(ASK)
        responses = [response async for response in stream]
        assert "hello there" in str(responses[-1].message.content)

    asyncio.run(both())
    assert asked(server) == [PRIMARY, BACKUP] * 3


def test_one_rate_limit_for_sync_and_async_calls(server: Any) -> None:
    llm = local_llm(server, requests_per_minute=90)
    limiter = llm.sync_client().rate_limiter

    async def async_limiter() -> Any:
        return llm.async_client().rate_limiter

    assert limiter is not None and limiter.requests_per_minute == 90
    assert asyncio.run(async_limiter()) is limiter


def test_gateway_fields_and_per_call_options(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway(server, monkeypatch)
    server.configure_gateway(token="li-gw")
    llm = local_llm(
        server,
        model=BACKUP,
        gateway_id="li",
        gateway_token="li-gw",
        gateway_cache_ttl=30,
        gateway_metadata={"app": "rag"},
    )
    one, two = llm.chat(ASK), llm.chat(ASK)
    assert one.message.content == two.message.content
    llm.chat(ASK, gateway={"skip_cache": True})
    entries = server.requests()
    assert [e["cache"] for e in entries] == ["MISS", "HIT", "MISS"]
    assert entries[0]["headers"]["cf-aig-metadata"] == '{"app":"rag"}'
    assert "li-gw" not in repr(llm) and "li-gw" not in str(llm.to_dict())


def test_embedding_through_the_batch_api(server: Any) -> None:
    texts = [f"passage {i}" for i in range(230)]
    direct = local_embedding(server, model_name=EMBED).get_text_embedding_batch(texts)
    server.reset()
    queued = local_embedding(server, model_name=EMBED, use_batch_api=True, embed_batch_size=2048)
    assert queued.embed_batch_size == 2048  # not capped at 100: one job carries many requests
    assert queued.get_text_embedding_batch(texts) == direct
    [submitted] = [e for e in server.requests() if "requests" in (e["body"] or {})]
    assert [len(r["text"]) for r in submitted["body"]["requests"]] == [100, 100, 30]
    assert asyncio.run(queued.aget_text_embedding_batch(texts)) == direct
    assert local_embedding(server, model_name=EMBED, embed_batch_size=2048).embed_batch_size == 100


def test_embedding_fallback_and_gateway(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway(server, monkeypatch)
    embedding = local_embedding(
        server,
        model_name="@cf/baai/bge-base-en-v1.5",
        fallback_models=[EMBED],
        gateway_id="li",
        gateway_cache_ttl=60,
    )
    server.inject("server_error", count=1)
    assert len(embedding.get_text_embedding("hello")) == 384  # bge-small stood in
    assert len(embedding.get_text_embedding("hello")) == 768  # bge-base is back
    assert len(embedding.get_text_embedding("hello")) == 768
    assert [e["cache"] for e in server.requests()] == ["MISS", "MISS", "MISS", "HIT"]
