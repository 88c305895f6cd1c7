"""AI Gateway options and the Batch API through the core client, against the local server."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.local.core.conftest import connect
from workers_ai import (
    AsyncWorkersAI,
    AuthenticationError,
    BadRequestError,
    BatchTimeoutError,
    GatewayOptions,
    InvalidRequestError,
    NotFoundError,
    WorkersAI,
)

MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8"
EMBED = "@cf/baai/bge-small-en-v1.5"
ASK = [{"role": "user", "content": "tell me about the sea"}]
GATEWAY_TOKEN = "gw-token-123"


def gateway_client(server: Any, **options: Any) -> WorkersAI:
    return WorkersAI(**connect(server), gateway_id="my-gateway", **options)


# -- AI Gateway -------------------------------------------------------------------------------


def test_requests_go_through_the_gateway_with_its_headers(server: Any) -> None:
    options = GatewayOptions(cache_ttl=60, metadata={"user": "u1", "n": 2})
    with gateway_client(server, gateway=options) as client:
        assert client.chat(MODEL, ASK).text
    [entry] = server.requests()
    assert entry["path"].startswith(f"/v1/{server.account_id}/my-gateway/workers-ai/")
    assert entry["headers"]["cf-aig-cache-ttl"] == "60"
    assert entry["headers"]["cf-aig-metadata"] == '{"user":"u1","n":2}'


def test_an_authenticated_gateway_wants_its_token(server: Any) -> None:
    server.configure_gateway(token=GATEWAY_TOKEN)
    with gateway_client(server) as client, pytest.raises(AuthenticationError) as caught:
        client.chat(MODEL, ASK)
    assert caught.value.code == 2009 and "gateway_token" in str(caught.value)
    with gateway_client(server, gateway=GatewayOptions(token=GATEWAY_TOKEN)) as client:
        assert client.chat(MODEL, ASK).text
    assert server.requests()[-1]["headers"]["cf-aig-authorization"] == "<redacted>"


def test_the_gateway_token_can_come_from_the_environment(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.configure_gateway(token=GATEWAY_TOKEN)
    monkeypatch.setenv("WORKERS_AI_GATEWAY_TOKEN", GATEWAY_TOKEN)
    with gateway_client(server) as client:
        assert client.chat(MODEL, ASK).text


def test_an_unknown_gateway_is_a_not_found_error_with_advice(server: Any) -> None:
    server.configure_gateway(ids=["prod"])
    with gateway_client(server) as client, pytest.raises(NotFoundError) as caught:
        client.chat(MODEL, ASK)
    assert caught.value.code == 2001 and "gateway_id" in str(caught.value)


def test_gateway_caching_set_per_call(server: Any) -> None:
    with gateway_client(server) as client:
        first = client.chat(MODEL, ASK, gateway={"cache_ttl": 300})
        second = client.chat(MODEL, ASK, gateway={"cache_ttl": 300})
        skipped = client.chat(MODEL, ASK, gateway=GatewayOptions(cache_ttl=300, skip_cache=True))
        plain = client.chat(MODEL, ASK)
    assert first.text == second.text == skipped.text == plain.text
    assert [e["cache"] for e in server.requests()] == ["MISS", "HIT", "MISS", "MISS"]
    assert "cf-aig-cache-ttl" not in server.requests()[-1]["headers"]  # per call only


def test_a_calls_gateway_options_override_the_clients(server: Any) -> None:
    with gateway_client(server, gateway=GatewayOptions(cache_ttl=300)) as client:
        client.embed(EMBED, ["a"])
        client.embed(EMBED, ["a"])
        client.embed(EMBED, ["a"], gateway={"skip_cache": True})
    assert [e["cache"] for e in server.requests()] == ["MISS", "HIT", "MISS"]


async def test_async_gateway_options(server: Any) -> None:
    server.configure_gateway(token=GATEWAY_TOKEN)
    options = GatewayOptions(token=GATEWAY_TOKEN, cache_ttl=30)
    async with AsyncWorkersAI(**connect(server), gateway_id="g", gateway=options) as client:
        one = await client.chat(MODEL, ASK)
        two = await client.chat(MODEL, ASK)
    assert one.text == two.text
    assert [e["cache"] for e in server.requests()] == ["MISS", "HIT"]


# -- Batch API --------------------------------------------------------------------------------


def test_run_batch_returns_results_in_submission_order(server: Any) -> None:
    requests = [{"prompt": f"question number {i}", "external_reference": f"q{i}"} for i in range(5)]
    with WorkersAI(**connect(server)) as client:
        items = client.run_batch(MODEL, requests, poll_interval=0.05)
    assert [i.index for i in items] == list(range(5))
    assert [i.external_reference for i in items] == [f"q{i}" for i in range(5)]
    assert all(f"question number {i}" in item.result["response"] for i, item in enumerate(items))
    queries = [e["query"] for e in server.requests()]
    assert all(q == {"queueRequest": "true"} for q in queries)
    assert len(server.requests()) == 1 + 3  # submit, then queued, running, done


def test_submit_then_poll_by_hand(server: Any) -> None:
    server.configure_batch(0)
    with WorkersAI(**connect(server)) as client:
        queued = client.submit_batch(EMBED, [{"text": ["a", "b"]}, {"text": ["c"]}])
        assert queued.status == "queued" and queued.model == EMBED and not queued.done
        done = client.get_batch(EMBED, queued.request_id)
    assert done.done and done.items is not None and len(done.items) == 2
    assert [len(i.result["data"]) for i in done.items] == [2, 1]
    assert done.usage is not None and done.usage.total_tokens > 0


def test_a_failed_item_is_reported_not_raised(server: Any) -> None:
    with WorkersAI(**connect(server)) as client:
        items = client.run_batch(MODEL, [{"prompt": "fine"}, {"prompt": 42}], poll_interval=0.05)
    assert items[0].success and not items[1].success
    assert items[1].error is not None and "5006" in items[1].error


def test_a_slow_batch_times_out_with_its_request_id(server: Any) -> None:
    server.configure_batch(1000)
    with WorkersAI(**connect(server)) as client, pytest.raises(BatchTimeoutError) as caught:
        client.run_batch(MODEL, [{"prompt": "x"}], poll_interval=0.05, timeout=0.3)
    assert caught.value.request_id and caught.value.request_id in str(caught.value)
    assert "get_batch" in str(caught.value)


def test_an_unknown_request_id(server: Any) -> None:
    with WorkersAI(**connect(server)) as client, pytest.raises(NotFoundError):
        client.get_batch(MODEL, "no-such-id")


def test_embed_through_the_batch_api_keeps_order(server: Any) -> None:
    texts = [f"text {i}" for i in range(250)]
    with WorkersAI(**connect(server)) as client:
        direct = client.embed(EMBED, texts)
        server.reset()
        queued = client.embed(EMBED, texts, use_batch_api=True, poll_interval=0.05)
    assert queued.vectors == direct.vectors and queued.model == EMBED
    assert queued.usage is not None
    submit = server.requests()[0]["body"]["requests"]
    assert [len(r["text"]) for r in submit] == [100, 100, 50]  # one job, three requests


def job_timeline(server: Any, pending_polls: int) -> list[str]:
    """Each Batch-API request in order: "submit", "poll", or "done" for the poll of a job that
    the server answers with its results (the one after its ``pending_polls``)."""
    timeline, polls = [], Counter[str]()
    for entry in server.requests():
        body = entry["body"]
        if "requests" in body:
            timeline.append("submit")
        else:
            polls[body["request_id"]] += 1
            timeline.append("done" if polls[body["request_id"]] > pending_polls else "poll")
    return timeline


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_batch_api_jobs_run_side_by_side_in_both_clients(
    server: Any, monkeypatch: pytest.MonkeyPatch, use_async: bool
) -> None:
    # A job holds one request of texts here, so three requests make three jobs.
    monkeypatch.setattr("workers_ai._batch.MAX_BATCH_BYTES", 40)
    server.configure_batch(4)
    texts = [f"text {i}" for i in range(9)]
    options: dict[str, Any] = {"batch_size": 3, "use_batch_api": True, "poll_interval": 0.05}
    if use_async:
        async with AsyncWorkersAI(**connect(server), embed_concurrency=3) as client:
            result = await client.embed(EMBED, texts, **options)
    else:
        with WorkersAI(**connect(server), embed_concurrency=3) as client:
            result = client.embed(EMBED, texts, **options)
    assert len(result.vectors) == 9
    timeline = job_timeline(server, 4)
    # Every job is submitted before the first one is done: they wait side by side.
    assert timeline.count("submit") == 3
    assert timeline.index("done") > max(i for i, kind in enumerate(timeline) if kind == "submit")


@pytest.mark.parametrize("use_batch_api", [False, True], ids=["direct", "batch-api"])
async def test_on_batch_reports_each_request_or_job_as_it_ends(
    server: Any, monkeypatch: pytest.MonkeyPatch, use_batch_api: bool
) -> None:
    monkeypatch.setattr("workers_ai._batch.MAX_BATCH_BYTES", 40)  # one request per job
    texts = [f"text {i}" for i in range(7)]
    options: dict[str, Any] = {"batch_size": 3, "use_batch_api": use_batch_api}
    options["poll_interval"] = 0.05
    sync_done: list[int] = []
    with WorkersAI(**connect(server)) as client:
        client.embed(EMBED, texts, on_batch=sync_done.append, **options)
    async_done: list[int] = []
    async with AsyncWorkersAI(**connect(server)) as aclient:
        await aclient.embed(EMBED, texts, on_batch=async_done.append, concurrency=1, **options)
    assert sorted(sync_done) == [1, 3, 3] and async_done == [3, 3, 1]


def test_a_failed_embedding_item_raises(server: Any) -> None:
    with WorkersAI(**connect(server)) as client, pytest.raises(BadRequestError, match="Request 0"):
        client.embed(EMBED, [""], use_batch_api=True, poll_interval=0.05)


async def test_async_batch(server: Any) -> None:
    async with AsyncWorkersAI(**connect(server)) as client:
        items = await client.run_batch(
            MODEL, [{"prompt": "a"}, {"prompt": "b"}], poll_interval=0.05
        )
        assert [i.index for i in items] == [0, 1]
        result = await client.embed(EMBED, ["x", "y", "z"], use_batch_api=True, poll_interval=0.05)
        assert len(result.vectors) == 3
        server.configure_batch(1000)
        with pytest.raises(BatchTimeoutError):
            await client.run_batch(MODEL, [{"prompt": "a"}], poll_interval=0.05, timeout=0.2)


def test_batches_go_to_the_api_even_with_a_gateway(server: Any) -> None:
    with gateway_client(server, gateway=GatewayOptions(cache_ttl=60)) as client:
        items = client.run_batch(MODEL, [{"prompt": "x"}], poll_interval=0.05)
        assert items[0].success
        result = client.embed(EMBED, ["a", "b"], use_batch_api=True, poll_interval=0.05)
        assert len(result.vectors) == 2
        with pytest.raises(InvalidRequestError, match="Batch API"):
            client.embed(EMBED, ["a"], use_batch_api=True, gateway={"skip_cache": True})
    paths = [e["path"] for e in server.requests()]
    assert paths and all(p.startswith("/client/v4/accounts/") for p in paths)
    assert all("cf-aig-cache-ttl" not in e["headers"] for e in server.requests())
