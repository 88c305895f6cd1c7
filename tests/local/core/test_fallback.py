"""Model fallback over the local server: when it moves on, when it must not, what the user sees."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.local.core.conftest import FAST_RETRIES, connect
from workers_ai import (
    APIConnectionError,
    APITimeoutError,
    AsyncWorkersAI,
    AuthenticationError,
    BadRequestError,
    QuotaExceededError,
    RateLimitError,
    StreamError,
    WorkersAI,
)

PRIMARY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
BACKUP = "@cf/meta/llama-3.1-8b-instruct-fp8"
LAST = "@cf/qwen/qwen3-30b-a3b-fp8"
EMBED = "@cf/baai/bge-base-en-v1.5"
EMBED_BACKUP = "@cf/baai/bge-small-en-v1.5"
ASK = [{"role": "user", "content": "tell me about the sea"}]


def models_asked(server: Any) -> list[str]:
    return [r["path"].split("/ai/run/")[-1] for r in server.requests()]


@pytest.fixture
def client(server: Any) -> Any:
    with WorkersAI(**connect(server), fallback_models=[BACKUP, LAST]) as c:
        c._retry = FAST_RETRIES
        yield c


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("rate_limit", {"retry_after": 0}),  # 429 / 3040: out of capacity
        ("server_error", {}),  # 500
        ("error", {"status": 400, "code": 5007, "message": "No such model"}),  # unavailable
        ("error", {"status": 404, "code": 3042, "message": "Invalid model ID"}),
    ],
)
def test_falls_back_after_the_retries_are_spent(
    client: WorkersAI, server: Any, kind: str, fields: dict[str, Any], caplog: Any
) -> None:
    failures = 3 if kind in ("rate_limit", "server_error") else 1  # 5007/3042 are not retried
    server.inject(kind, count=failures, **fields)
    with caplog.at_level(logging.WARNING, logger="workers_ai"):
        result = client.chat(PRIMARY, ASK)
    assert result.model == BACKUP  # the result names the model that answered
    assert "tell me about the sea" in result.text
    assert models_asked(server) == [PRIMARY] * failures + [BACKUP]
    [line] = [r.getMessage() for r in caplog.records if "falling back" in r.getMessage()]
    assert PRIMARY in line and BACKUP in line and ("failed" in line)


def test_moves_down_the_whole_chain(client: WorkersAI, server: Any) -> None:
    server.inject("server_error", count=6)  # three tries on each of the first two models
    assert client.chat(PRIMARY, ASK).model == LAST
    assert models_asked(server) == [PRIMARY] * 3 + [BACKUP] * 3 + [LAST]


def test_the_last_models_error_is_raised_when_every_model_fails(
    client: WorkersAI, server: Any
) -> None:
    server.inject("rate_limit", count=9, retry_after=0)
    with pytest.raises(RateLimitError, match="3040"):
        client.chat(PRIMARY, ASK)
    assert models_asked(server) == [PRIMARY] * 3 + [BACKUP] * 3 + [LAST] * 3


@pytest.mark.parametrize(
    ("kind", "fields", "error"),
    [
        ("quota", {}, QuotaExceededError),  # 3036: the daily allocation covers every model
        (
            "error",
            {"status": 401, "code": 10000, "message": "Authentication error"},
            AuthenticationError,
        ),
        ("error", {"status": 400, "code": 5006, "message": "Bad input"}, BadRequestError),
    ],
)
def test_never_falls_back_on_quota_auth_or_bad_input(
    client: WorkersAI, server: Any, kind: str, fields: dict[str, Any], error: type[Exception]
) -> None:
    server.inject(kind, count=1, **fields)
    with pytest.raises(error):
        client.chat(PRIMARY, ASK)
    assert models_asked(server) == [PRIMARY]


def test_a_timeout_falls_back(server: Any) -> None:
    server.inject("latency", count=1, delay=1.0)
    with WorkersAI(**connect(server), timeout=0.2, max_retries=0, fallback_models=[BACKUP]) as c:
        assert c.chat(PRIMARY, ASK).model == BACKUP
    with WorkersAI(**connect(server), timeout=0.2, max_retries=0) as alone:
        server.inject("latency", count=1, delay=1.0)
        with pytest.raises(APITimeoutError):
            alone.chat(PRIMARY, ASK)


def test_a_call_can_name_its_own_fallbacks_or_none(client: WorkersAI, server: Any) -> None:
    server.inject("server_error", count=3)
    assert client.chat(PRIMARY, ASK, fallback_models=[LAST]).model == LAST
    server.reset()
    server.inject("server_error", count=3)
    with pytest.raises(Exception, match="500"):
        client.chat(PRIMARY, ASK, fallback_models=[])


def test_stream_falls_back_before_its_first_chunk(client: WorkersAI, server: Any) -> None:
    server.inject("rate_limit", count=3, retry_after=0)
    chunks = list(client.stream_chat(PRIMARY, ASK))
    assert chunks[-1].is_last and chunks[-1].model == BACKUP
    assert "tell me about the sea" in "".join(c.text for c in chunks)
    assert models_asked(server) == [PRIMARY] * 3 + [BACKUP]


def test_stream_never_falls_back_after_output_began(client: WorkersAI, server: Any) -> None:
    server.inject("cut_stream", count=1, after=3)
    received: list[str] = []
    with pytest.raises(StreamError):
        for chunk in client.stream_chat(PRIMARY, ASK):
            received.append(chunk.text)
    assert received  # what the user already has is never repeated by another model
    assert models_asked(server) == [PRIMARY]


def test_embeddings_fall_back_as_a_whole(server: Any) -> None:
    texts = [f"text {i}" for i in range(150)]  # two requests: all vectors from one model
    server.inject("server_error", count=1)
    with WorkersAI(**connect(server), max_retries=0, fallback_models=[EMBED_BACKUP]) as c:
        result = c.embed(EMBED, texts)
    assert result.model == EMBED_BACKUP and len(result.vectors) == 150
    assert {len(v) for v in result.vectors} == {384}  # bge-small's size: none from bge-base
    # Both requests are in flight at once; the fallback starts once both have ended.
    asked = models_asked(server)
    assert asked in ([EMBED] + [EMBED_BACKUP] * 2, [EMBED] * 2 + [EMBED_BACKUP] * 2)


def test_run_falls_back(server: Any) -> None:
    server.inject("server_error", count=1)
    with WorkersAI(**connect(server), max_retries=0, fallback_models=[BACKUP]) as c:
        result = c.run(PRIMARY, {"prompt": "hello there"})
    assert "hello there" in result["response"]
    assert models_asked(server) == [PRIMARY, BACKUP]


def test_a_fallback_list_must_name_models(server: Any) -> None:
    with pytest.raises(Exception, match="fallback_models"):
        WorkersAI(**connect(server), fallback_models="@cf/meta/llama-3.1-8b-instruct-fp8")


async def test_async_fallback_for_chat_stream_and_embed(server: Any) -> None:
    async with AsyncWorkersAI(**connect(server), max_retries=0, fallback_models=[BACKUP]) as c:
        server.inject("server_error", count=1)
        assert (await c.chat(PRIMARY, ASK)).model == BACKUP
        server.inject("rate_limit", count=1, retry_after=0)
        chunks = [chunk async for chunk in c.stream_chat(PRIMARY, ASK)]
        assert chunks[-1].model == BACKUP
        server.inject("server_error", count=1)
        result = await c.embed(EMBED, ["a", "b"], fallback_models=[EMBED_BACKUP])
        assert result.model == EMBED_BACKUP
        server.inject("quota", count=1)
        with pytest.raises(QuotaExceededError):
            await c.chat(PRIMARY, ASK)
    assert models_asked(server) == [
        PRIMARY,
        BACKUP,
        PRIMARY,
        BACKUP,
        EMBED,
        EMBED_BACKUP,
        PRIMARY,
    ]


# -- connection resets: retried like any transport failure, then fallen back from -------------


def test_a_connection_reset_is_retried(client: WorkersAI, server: Any) -> None:
    server.inject("reset", count=1)
    assert client.chat(PRIMARY, ASK).model == PRIMARY
    assert models_asked(server) == [PRIMARY, PRIMARY]


def test_a_connection_reset_without_retries_is_a_connection_error(server: Any) -> None:
    server.inject("reset", count=1)
    with WorkersAI(**connect(server), max_retries=0) as once:
        with pytest.raises(APIConnectionError, match="Could not reach Workers AI") as caught:
            once.chat(PRIMARY, ASK)
    assert "reset" in str(caught.value).lower() or "disconnected" in str(caught.value).lower()


async def test_async_stream_reset_before_output_is_retried(server: Any) -> None:
    server.inject("reset", count=1)
    async with AsyncWorkersAI(**connect(server)) as c:
        c._retry = FAST_RETRIES
        chunks = [chunk async for chunk in c.stream_chat(PRIMARY, ASK)]
    assert "tell me about the sea" in "".join(chunk.text for chunk in chunks)
    assert models_asked(server) == [PRIMARY, PRIMARY]
