"""The production knobs as LangChain fields (and per call): fallback models, a client-side rate
limit, AI Gateway options and the Batch API for embeddings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings

PRIMARY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
BACKUP = "@cf/meta/llama-3.1-8b-instruct-fp8"
EMBED = "@cf/baai/bge-small-en-v1.5"


def asked(server: Any) -> list[str]:
    return [e["path"].split("/workers-ai/")[-1].split("/ai/run/")[-1] for e in server.requests()]


@pytest.fixture
def gateway_env(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKERS_AI_GATEWAY_URL", server.gateway_url)
    monkeypatch.setenv("WORKERS_AI_GATEWAY_ID", "lc-gateway")


def test_fallback_models_field_and_per_call(server: Any) -> None:
    llm = ChatWorkersAI(model=PRIMARY, max_retries=0, fallback_models=[BACKUP])
    server.inject("server_error", count=1)
    message = llm.invoke("hello there")
    assert message.response_metadata["model_name"] == BACKUP
    assert asked(server) == [PRIMARY, BACKUP]
    server.reset()
    server.inject("server_error", count=1)
    with pytest.raises(Exception, match="500"):
        llm.invoke("hello there", fallback_models=[])  # a call may opt out


def test_stream_and_async_fall_back(server: Any) -> None:
    llm = ChatWorkersAI(model=PRIMARY, max_retries=0, fallback_models=[BACKUP])
    server.inject("rate_limit", count=1, retry_after=0)
    chunks = list(llm.stream("hello there"))
    assert "hello there" in "".join(str(c.content) for c in chunks)
    server.inject("server_error", count=1)
    message = asyncio.run(llm.ainvoke("hello again"))
    assert message.response_metadata["model_name"] == BACKUP
    assert asked(server) == [PRIMARY, BACKUP, PRIMARY, BACKUP]


def test_one_rate_limit_for_sync_and_async_calls() -> None:
    llm = ChatWorkersAI(requests_per_minute=120)
    limiter = llm.sync_client().rate_limiter

    async def async_limiter() -> Any:
        return llm.async_client().rate_limiter

    assert limiter is not None and limiter.requests_per_minute == 120
    assert asyncio.run(async_limiter()) is limiter
    llm.requests_per_minute = 60  # a changed limit takes effect on the next call
    assert llm.sync_client().rate_limiter.requests_per_minute == 60  # type: ignore[union-attr]


def test_gateway_fields_reach_the_gateway(server: Any, gateway_env: None) -> None:
    server.configure_gateway(token="gw")
    llm = ChatWorkersAI(
        model=BACKUP,
        gateway_token="gw",
        gateway_cache_ttl=120,
        gateway_metadata={"team": "search"},
    )
    first, second = llm.invoke("cached?"), llm.invoke("cached?")
    assert first.content == second.content
    skipped = llm.invoke("cached?", gateway={"skip_cache": True})
    assert skipped.content == first.content
    entries = server.requests()
    assert [e["cache"] for e in entries] == ["MISS", "HIT", "MISS"]
    assert entries[0]["headers"]["cf-aig-metadata"] == '{"team":"search"}'
    assert entries[0]["path"].startswith(f"/v1/{server.account_id}/lc-gateway/workers-ai/")
    assert "gw" not in repr(llm) and "gateway_token" not in llm.model_dump()


def test_gateway_skip_cache_field(server: Any, gateway_env: None) -> None:
    llm = ChatWorkersAI(model=BACKUP, gateway_cache_ttl=60, gateway_skip_cache=True)
    llm.invoke("x")
    llm.invoke("x")
    assert [e["cache"] for e in server.requests()] == ["MISS", "MISS"]
    assert server.requests()[0]["headers"]["cf-aig-skip-cache"] == "true"


def test_gateway_options_without_a_gateway_are_refused() -> None:
    with pytest.raises(ValueError, match="gateway_id"):  # pydantic wraps ConfigurationError
        ChatWorkersAI(gateway_cache_ttl=60)


def test_embeddings_through_the_batch_api(server: Any) -> None:
    texts = [f"passage {i}" for i in range(130)]
    direct = WorkersAIEmbeddings(model=EMBED).embed_documents(texts)
    server.reset()
    queued = WorkersAIEmbeddings(model=EMBED, use_batch_api=True, batch_size=50)
    assert queued.embed_documents(texts) == direct
    submitted = server.requests()[0]
    assert submitted["query"] == {"queueRequest": "true"}
    assert [len(r["text"]) for r in submitted["body"]["requests"]] == [50, 50, 30]
    assert asyncio.run(queued.aembed_documents(texts)) == direct
    assert queued.embed_documents([]) == []


def test_embeddings_fall_back_and_use_the_gateway(server: Any, gateway_env: None) -> None:
    embeddings = WorkersAIEmbeddings(
        model="@cf/baai/bge-base-en-v1.5",
        max_retries=0,
        fallback_models=[EMBED],
        gateway_cache_ttl=60,
    )
    server.inject("server_error", count=1)
    [vector] = embeddings.embed_documents(["hello"])
    assert len(vector) == 384  # bge-small answered
    assert [e["cache"] for e in server.requests()] == ["MISS", "MISS"]
    assert asked(server) == ["@cf/baai/bge-base-en-v1.5", EMBED]
