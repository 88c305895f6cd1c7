"""The core's operations driven by hand, step by step: no sockets, no sleeping, no threads.

Each test plays the part of a driver (WorkersAI or AsyncWorkersAI): it reads the step a plan
yields, checks it, and sends back what the network would have answered.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from workers_ai import (
    APIConnectionError,
    BatchTimeoutError,
    ChatResult,
    EmbeddingResult,
    ServerError,
    StreamError,
    WorkersAI,
    _batch,
)
from workers_ai._plan import DRAIN, READ, READ_REST, Emit, Gather, Open, Pause, Plan, Send

CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
BACKUP = "@cf/zai-org/glm-4.7-flash"
EMBED = "@cf/baai/bge-base-en-v1.5"
ASK = [{"role": "user", "content": "Hello"}]
SSE = {"content-type": "text/event-stream"}


def ops(**options: Any) -> WorkersAI:
    return WorkersAI(account_id="acct", api_token="token", **options)


def answer(result: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"success": True, "result": result}, headers=headers)


def failure(status: int, code: int, message: str = "no", **headers: str) -> httpx.Response:
    body = {"success": False, "errors": [{"code": code, "message": message}]}
    return httpx.Response(status, json=body, headers=headers)


def finish(plan: Plan[Any], reply: Any) -> Any:
    with pytest.raises(StopIteration) as done:
        plan.send(reply)
    return done.value.value


def test_a_chat_is_one_send() -> None:
    plan = ops().plan_chat(CHAT, ASK, None, None, None, {"max_tokens": 5})
    step = next(plan)
    assert isinstance(step, Send)
    assert str(step.request.url).endswith(f"/accounts/acct/ai/run/{CHAT}")
    assert step.request.json == {"messages": ASK, "max_tokens": 5}
    result = finish(plan, answer({"response": "Hi"}, **{"cf-ray": "ray-1"}))
    assert isinstance(result, ChatResult)
    assert (result.text, result.model, result.cf_ray) == ("Hi", CHAT, "ray-1")


def test_retry_after_is_a_pause_then_the_same_request_again() -> None:
    plan = ops().plan_chat(CHAT, ASK, None, None, None, {})
    first = next(plan)
    step = plan.send(failure(429, 3040, "Capacity temporarily exceeded", **{"retry-after": "3"}))
    assert step == Pause(3.0)
    again = plan.send(None)
    assert isinstance(again, Send) and again.request is first.request  # type: ignore[union-attr]
    assert finish(plan, answer({"response": "ok"})).text == "ok"


def test_a_transport_failure_thrown_in_is_retried_then_named() -> None:
    plan = ops(max_retries=1).plan_chat(CHAT, ASK, None, None, None, {})
    next(plan)
    pause = plan.throw(httpx.ConnectError("refused"))
    assert isinstance(pause, Pause) and 0 < pause.seconds <= 2
    assert isinstance(plan.send(None), Send)
    with pytest.raises(APIConnectionError, match=r"Could not reach Workers AI \(POST .*refused"):
        plan.throw(httpx.ConnectError("refused"))


def test_a_server_error_falls_back_to_the_next_model() -> None:
    plan = ops(max_retries=0).plan_chat(CHAT, ASK, None, [BACKUP], None, {})
    assert next(plan).request.model == CHAT  # type: ignore[union-attr]
    step = plan.send(failure(500, 3001, "Internal server error"))
    assert isinstance(step, Send) and step.request.model == BACKUP
    body = {"choices": [{"message": {"role": "assistant", "content": "from glm"}}]}
    assert finish(plan, answer(body)).model == BACKUP


def test_an_error_that_does_not_warrant_a_fallback_ends_the_plan() -> None:
    plan = ops(max_retries=0).plan_chat(CHAT, ASK, None, [BACKUP], None, {})
    next(plan)
    with pytest.raises(Exception, match="Authentication error"):
        plan.send(failure(401, 10000, "Authentication error"))


def test_the_catalog_is_read_page_after_page() -> None:
    plan = ops().plan_models("Text Generation", None)
    step = next(plan)
    assert isinstance(step, Send) and step.request.params["page"] == 1
    assert step.request.params["task"] == "Text Generation"
    model = {"id": "1", "name": CHAT, "task": {"name": "Text Generation"}}
    info = {"page": 1, "per_page": 1, "total_count": 2}
    page_one = httpx.Response(200, json={"success": True, "result": [model], "result_info": info})
    step = plan.send(page_one)
    assert isinstance(step, Send) and step.request.params["page"] == 2
    info = {"page": 2, "per_page": 1, "total_count": 2}
    page_two = httpx.Response(200, json={"success": True, "result": [model], "result_info": info})
    assert [m.name for m in finish(plan, page_two)] == [CHAT, CHAT]


def embedded(request_json: dict[str, Any]) -> httpx.Response:
    texts = request_json["text"]
    return answer({"shape": [len(texts), 2], "data": [[0.5, float(len(t))] for t in texts]})


def test_embedding_requests_are_gathered_with_the_clients_limit_and_progress() -> None:
    done: list[int] = []
    plan = ops(embed_concurrency=3).plan_embed(
        EMBED,
        [f"t{i}" for i in range(250)],
        fallback_models=None,
        gateway=None,
        batch_size=None,
        use_batch_api=False,
        poll_interval=1.0,
        timeout=10.0,
        concurrency=None,
        on_batch=done.append,
    )
    gather = next(plan)
    assert isinstance(gather, Gather) and gather.limit == 3 and len(gather.plans) == 3
    results = []
    for sub in gather.plans:
        send = next(sub)
        assert isinstance(send, Send)
        results.append(finish(sub, embedded(send.request.json)))
        assert gather.on_done is not None
        gather.on_done(results[-1])
    assert done == [100, 100, 50]
    result = finish(plan, results)
    assert isinstance(result, EmbeddingResult) and len(result.vectors) == 250
    assert result.vectors[0] == [0.5, 2.0] and result.vectors[-1] == [0.5, 4.0]


def test_a_call_sets_its_own_concurrency() -> None:
    plan = ops(embed_concurrency=3).plan_embed(
        EMBED,
        ["a", "b"],
        fallback_models=None,
        gateway=None,
        batch_size=1,
        use_batch_api=False,
        poll_interval=1.0,
        timeout=10.0,
        concurrency=1,
        on_batch=None,
    )
    step = next(plan)
    assert isinstance(step, Gather) and step.limit == 1 and len(step.plans) == 2


def test_batch_api_jobs_are_gathered_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_batch, "MAX_BATCH_BYTES", 30)  # one request of texts per job
    plan = ops(embed_concurrency=4).plan_embed(
        EMBED,
        ["first text", "second text", "third text"],
        fallback_models=None,
        gateway=None,
        batch_size=1,
        use_batch_api=True,
        poll_interval=0.5,
        timeout=10.0,
        concurrency=None,
        on_batch=None,
    )
    gather = next(plan)
    assert isinstance(gather, Gather) and gather.limit == 4 and len(gather.plans) == 3
    results = []
    for index, job in enumerate(gather.plans):
        submit = next(job)
        assert isinstance(submit, Send) and submit.request.params == {"queueRequest": "true"}
        (body,) = submit.request.json["requests"]
        pause = job.send(answer({"status": "queued", "request_id": f"r{index}"}))
        assert pause == Pause(0.1)
        poll = job.send(None)
        assert isinstance(poll, Send) and poll.request.json == {"request_id": f"r{index}"}
        vectors = embedded(body).json()["result"]
        done = {"request_id": f"r{index}", "responses": [{"id": 0, "result": vectors}]}
        results.append(finish(job, answer(done)))
    assert len(finish(plan, results).vectors) == 3


def test_a_batch_past_its_timeout_names_its_request_id() -> None:
    plan = ops().plan_run_batch(EMBED, [{"text": ["x"]}], 5.0, 0.05)
    next(plan)
    with pytest.raises(BatchTimeoutError, match="get_batch") as caught:
        plan.send(answer({"status": "queued", "request_id": "r-9"}))
    assert caught.value.request_id == "r-9"


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


def test_a_stream_reads_pieces_and_emits_chunks() -> None:
    plan = ops().plan_stream_chat(CHAT, ASK, None, None, None, {})
    step = next(plan)
    assert isinstance(step, Open) and step.request.json["stream"] is True
    assert plan.send(httpx.Response(200, headers=SSE)) is READ
    # An event split across two reads: no chunk until it is whole.
    piece = sse({"response": "Hel"}, {"response": "lo"})
    assert plan.send(piece[:10]) is READ
    emitted = plan.send(piece[10:])  # the chunks of one read go out together
    assert isinstance(emitted, Emit) and [c.text for c in emitted.chunks] == ["Hel", "lo"]
    assert plan.send(None) is READ
    assert plan.send(b"data: [DONE]\n\n") is DRAIN  # before the last chunk: the pool gets it back
    last = plan.send(None)
    assert isinstance(last, Emit) and last.chunks[-1].is_last
    finish(plan, None)


def test_a_stream_that_ends_early_raises() -> None:
    plan = ops().plan_stream_chat(CHAT, ASK, None, None, None, {})
    next(plan)
    plan.send(httpx.Response(200, headers=SSE))
    plan.send(sse({"response": "partial"}))
    assert plan.send(None) is READ
    with pytest.raises(StreamError):
        plan.send(None)  # the body ended without [DONE]


def test_a_stream_retries_before_its_first_chunk_and_never_after() -> None:
    plan = ops(max_retries=2).plan_stream_chat(CHAT, ASK, None, None, None, {})
    next(plan)
    assert isinstance(plan.throw(httpx.ReadTimeout("slow")), Pause)
    assert isinstance(plan.send(None), Open)  # the same request, opened again
    plan.send(httpx.Response(200, headers=SSE))
    assert isinstance(plan.send(sse({"response": "Hi"})), Emit)
    assert plan.send(None) is READ
    with pytest.raises(StreamError, match="broke mid-way"):
        plan.throw(httpx.ReadError("reset"))


def test_a_stream_falls_back_only_before_its_first_chunk() -> None:
    plan = ops(max_retries=0).plan_stream_chat(CHAT, ASK, None, [BACKUP], None, {})
    next(plan)
    assert plan.send(failure(500, 3001)) is READ_REST  # the error's body is read whole
    opened = plan.send(None)
    assert isinstance(opened, Open) and opened.request.model == BACKUP


def test_bad_stream_input_raises_at_the_call() -> None:
    with pytest.raises(Exception, match="messages"):
        ops().plan_stream_chat(CHAT, [], None, None, None, {})


def test_a_rate_limit_is_a_pause_before_the_request() -> None:
    client = ops(requests_per_minute=60)
    first = client.plan_chat(CHAT, ASK, None, None, None, {})
    assert isinstance(next(first), Send)  # the bucket starts full
    second = client.plan_chat(CHAT, ASK, None, None, None, {})
    step = next(second)
    assert isinstance(step, Pause) and 0.9 < step.seconds <= 1.0
    assert isinstance(second.send(None), Send)


def test_the_error_of_a_gathered_plan_is_thrown_into_the_gathering_one() -> None:
    plan = ops(max_retries=0).plan_embed(
        EMBED,
        ["a"],
        fallback_models=["@cf/baai/bge-small-en-v1.5"],
        gateway=None,
        batch_size=None,
        use_batch_api=False,
        poll_interval=1.0,
        timeout=10.0,
        concurrency=None,
        on_batch=None,
    )
    next(plan)
    again = plan.throw(ServerError("boom", status=500))
    assert isinstance(again, Gather)  # the whole embedding again, on the next model
    assert next(again.plans[0]).request.model == "@cf/baai/bge-small-en-v1.5"  # type: ignore[union-attr]
