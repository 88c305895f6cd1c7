"""The local server's async batch API (wire contract §6) and AI Gateway (§1.1, §1.2), over HTTP."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest

from workers_ai_local import LocalServer
from workers_ai_local.backends import Backend, CatalogEntry, GenerationEvent, GenerationRequest
from workers_ai_local.batch import BatchBook, succeeded
from workers_ai_local.echo import EchoBackend
from workers_ai_local.gateway import CachedAnswer, CachePolicy, Gateway

EMBED = "@cf/baai/bge-base-en-v1.5"
LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
GATEWAY_TOKEN = "gateway-secret"


def run_path(server: LocalServer, model: str) -> str:
    return f"/client/v4/accounts/{server.account_id}/ai/run/{model}"


def gateway_path(server: LocalServer, model: str = EMBED, gateway: str = "gw") -> str:
    return f"/v1/{server.account_id}/{gateway}/workers-ai/{model}"


def submit(http: httpx.Client, server: LocalServer, model: str, items: list[Any]) -> str:
    response = http.post(f"{run_path(server, model)}?queueRequest=true", json={"requests": items})
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["status"] == "queued" and result["model"] == model
    assert str(uuid.UUID(result["request_id"])) == result["request_id"]
    return str(result["request_id"])


def poll(http: httpx.Client, server: LocalServer, model: str, request_id: str) -> Any:
    response = http.post(run_path(server, model), json={"request_id": request_id})
    assert response.status_code == 200 and response.json()["success"] is True
    return response.json()["result"]


# -- batch ------------------------------------------------------------------------------------


def test_batch_submit_poll_done_out_of_order(http: httpx.Client, server: LocalServer) -> None:
    items: list[dict[str, Any]] = [
        {"text": "one two", "external_reference": "first"},
        {"text": ["three four five"]},
        {"text": "six", "external_reference": "third"},
    ]
    rid = submit(http, server, EMBED, items)
    assert poll(http, server, EMBED, rid) == {"status": "queued", "request_id": rid}
    assert poll(http, server, EMBED, rid) == {"status": "running", "request_id": rid}
    done = poll(http, server, EMBED, rid)
    ids = [r["id"] for r in done["responses"]]
    assert sorted(ids) == [0, 1, 2] and ids != [0, 1, 2]
    by_id = {r["id"]: r for r in done["responses"]}
    assert [by_id[i]["external_reference"] for i in range(3)] == ["first", None, "third"]
    assert all(r["success"] is True for r in done["responses"])
    for i, item in enumerate(items):
        plain = http.post(run_path(server, EMBED), json={"text": item["text"]})
        assert by_id[i]["result"] == plain.json()["result"]
    assert done["usage"] == {"prompt_tokens": 6, "completion_tokens": 0, "total_tokens": 6}
    assert poll(http, server, EMBED, rid) == done  # a finished job keeps answering


def test_batch_text_generation_matches_the_native_route(
    http: httpx.Client, server: LocalServer
) -> None:
    body = {"prompt": "say something", "max_tokens": 8}
    server.configure_batch(0)
    rid = submit(http, server, LEGACY, [body, {"messages": [{"role": "user", "content": "hi"}]}])
    done = poll(http, server, LEGACY, rid)
    first = next(r for r in done["responses"] if r["id"] == 0)
    assert first["result"] == http.post(run_path(server, LEGACY), json=body).json()["result"]
    usage = [r["result"]["usage"] for r in done["responses"]]
    assert done["usage"]["prompt_tokens"] == sum(u["prompt_tokens"] for u in usage)
    assert done["usage"]["completion_tokens"] == sum(u["completion_tokens"] for u in usage)


def test_invalid_items_fail_alone(http: httpx.Client, server: LocalServer) -> None:
    server.configure_batch(0)
    items: list[Any] = [
        {"text": "fine"},
        {"input": "wrong field", "external_reference": "bad"},
        {"text": "no streams", "stream": True},
        "not an object",
        {"text": "bad reference", "external_reference": 7},
    ]
    done = poll(http, server, EMBED, submit(http, server, EMBED, items))
    by_id = {r["id"]: r for r in done["responses"]}
    assert by_id[0]["success"] is True
    for i in range(1, 5):
        assert by_id[i]["success"] is False
        [error] = by_id[i]["result"]["errors"]
        assert error["code"] == 5006 and error["message"].startswith("AiError: Bad input")
    assert by_id[1]["external_reference"] == "bad"
    assert "stream" in by_id[2]["result"]["errors"][0]["message"]
    assert done["usage"]["prompt_tokens"] == 1


def test_poll_may_keep_queue_request_and_unknown_ids_are_404(
    http: httpx.Client, server: LocalServer
) -> None:
    server.configure_batch(0)
    rid = submit(http, server, EMBED, [{"text": "x"}])
    queued = http.post(f"{run_path(server, EMBED)}?queueRequest=true", json={"request_id": rid})
    assert "responses" in queued.json()["result"]
    unknown = http.post(run_path(server, EMBED), json={"request_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    body = unknown.json()
    assert body["success"] is False and body["result"] is None
    assert body["errors"][0]["code"] == 1004


def test_pending_polls_are_configurable_and_reset(http: httpx.Client, server: LocalServer) -> None:
    control = http.post("/__local__/batch", json={"pending_polls": 3})
    assert control.json()["result"] == {"pending_polls": 3}
    rid = submit(http, server, EMBED, [{"text": "x"}])
    statuses = [poll(http, server, EMBED, rid).get("status", "done") for _ in range(4)]
    assert statuses == ["queued", "running", "running", "done"]
    assert http.post("/__local__/batch", json={"pending_polls": -1}).status_code == 400
    server.reset()
    assert http.get("/__local__/batch").json()["result"] == {"pending_polls": 2}
    assert http.delete("/__local__/batch").json()["result"] == {"pending_polls": 2}


def test_submission_errors(http: httpx.Client, server: LocalServer) -> None:
    queued = f"{run_path(server, EMBED)}?queueRequest=true"
    for body, code in [({}, 5006), ({"requests": []}, 5006), ({"requests": "x"}, 5006)]:
        response = http.post(queued, json=body)
        assert response.status_code == 400 and response.json()["errors"][0]["code"] == code
    unknown_model = http.post(
        f"{run_path(server, '@cf/nobody/nothing')}?queueRequest=true",
        json={"requests": [{"text": "x"}]},
    )
    assert unknown_model.json()["errors"][0]["code"] == 5007
    huge = http.post(queued, json={"requests": [{"text": "x" * 10_000_001}]})
    assert huge.status_code == 413 and huge.json()["errors"][0]["code"] == 3006


def test_batch_book_drops_the_oldest_jobs() -> None:
    book = BatchBook(pending_polls=0, capacity=2)
    ids = [book.submit(EMBED, [succeeded(0, None, {}, (1, 0))])["request_id"] for _ in range(3)]
    assert book.poll(ids[2])["usage"]["total_tokens"] == 1
    with pytest.raises(Exception, match="No queued request"):
        book.poll(ids[0])


# -- gateway: auth and gateway ids ---------------------------------------------------------


def gateway_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["success"] is False and body["result"] == [] and body["messages"] == []
    [error] = body["error"]
    return error  # type: ignore[no-any-return]


def test_authenticated_gateway(http: httpx.Client, server: LocalServer) -> None:
    server.configure_gateway(token=GATEWAY_TOKEN)
    path, body = gateway_path(server), {"text": "hello"}
    missing = http.post(path, json=body)
    assert missing.status_code == 401
    assert gateway_error(missing) == {"code": 2009, "message": "Unauthorized"}
    wrong = http.post(path, json=body, headers={"cf-aig-authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = http.post(path, json=body, headers={"cf-aig-authorization": f"Bearer {GATEWAY_TOKEN}"})
    assert right.status_code == 200 and right.json()["success"] is True
    assert server.requests()[-1]["headers"]["cf-aig-authorization"] == "<redacted>"
    server.reset()
    assert http.post(path, json=body).status_code == 200


def test_gateway_token_by_control_route(http: httpx.Client, server: LocalServer) -> None:
    shown = http.post("/__local__/gateway", json={"token": GATEWAY_TOKEN, "ids": ["gw"]})
    assert shown.json()["result"] == {"authenticated": True, "ids": ["gw"]}
    assert http.post(gateway_path(server), json={"text": "x"}).status_code == 401
    assert http.post("/__local__/gateway", json={"token": 5}).status_code == 400
    assert http.delete("/__local__/gateway").json()["result"] == {
        "authenticated": False,
        "ids": None,
    }
    assert http.post(gateway_path(server), json={"text": "x"}).status_code == 200


def test_unknown_gateway(http: httpx.Client, server: LocalServer) -> None:
    server.configure_gateway(ids=["known"])
    unknown = http.post(gateway_path(server, gateway="other"), json={"text": "x"})
    assert unknown.status_code == 400
    assert gateway_error(unknown) == {
        "code": 2001,
        "message": "Please configure AI Gateway in the Cloudflare dashboard",
    }
    assert http.post(gateway_path(server, gateway="known"), json={"text": "x"}).status_code == 200


def test_api_token_is_still_required_through_the_gateway(server: LocalServer) -> None:
    response = httpx.post(f"{server.root_url}{gateway_path(server)}", json={"text": "x"})
    assert response.status_code == 401 and response.json()["errors"][0]["code"] == 10000


# -- gateway: cache, metadata, headers -------------------------------------------------------


class CountingBackend:
    """The echo backend, counting the calls that reach it."""

    def __init__(self) -> None:
        self.inner: Backend = EchoBackend()
        self.calls = 0

    @property
    def name(self) -> str:
        return "counting"

    def catalog(self) -> Sequence[CatalogEntry]:
        return self.inner.catalog()

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        self.calls += 1
        return self.inner.generate(request)

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return self.inner.embed(model, texts)


@pytest.fixture(scope="module")
def counting() -> Iterator[tuple[LocalServer, CountingBackend]]:
    backend = CountingBackend()
    with LocalServer(port=0, token="t", account_id="acct", backend=backend) as server:
        yield server, backend


def test_cache_miss_then_hit_skips_the_backend(
    counting: tuple[LocalServer, CountingBackend],
) -> None:
    server, backend = counting
    server.reset()
    before = backend.calls
    headers = {"authorization": "Bearer t", "cf-aig-cache-ttl": "60"}
    url = f"{server.root_url}{gateway_path(server, LEGACY)}"
    body = {"prompt": "cache me"}
    first = httpx.post(url, json=body, headers=headers)
    second = httpx.post(url, json=body, headers=headers)
    assert first.headers["cf-aig-cache-status"] == "MISS"
    assert second.headers["cf-aig-cache-status"] == "HIT"
    assert second.json() == first.json()
    assert second.headers["content-type"] == "application/json"
    assert backend.calls == before + 1
    log = server.requests()
    assert [e["cache"] for e in log] == ["MISS", "HIT"]
    assert log[1]["headers"]["cf-aig-cache-ttl"] == "60"
    other = httpx.post(url, json={"prompt": "another"}, headers=headers)
    assert other.headers["cf-aig-cache-status"] == "MISS" and backend.calls == before + 2
    server.reset()


def cached_post(
    http: httpx.Client, server: LocalServer, text: str, **headers: str
) -> httpx.Response:
    return http.post(
        gateway_path(server),
        json={"text": text},
        headers={"cf-aig-cache-ttl": "60", **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


def status(response: httpx.Response) -> str:
    return response.headers["cf-aig-cache-status"]


def test_skip_cache_and_cache_key(http: httpx.Client, server: LocalServer) -> None:
    assert status(cached_post(http, server, "a")) == "MISS"
    assert status(cached_post(http, server, "a", cf_aig_skip_cache="true")) == "MISS"
    assert status(cached_post(http, server, "a")) == "HIT"
    keyed = cached_post(http, server, "b", cf_aig_cache_key="k")
    other_body = cached_post(http, server, "c", cf_aig_cache_key="k")
    assert (status(keyed), status(other_body)) == ("MISS", "HIT")
    assert other_body.json() == keyed.json()  # the key, not the body, decides
    plain = http.post(gateway_path(server), json={"text": "a"})  # no TTL: never cached
    assert status(plain) == "MISS"
    assert [e["cache"] for e in server.requests()] == ["MISS", "MISS", "HIT", "MISS", "HIT", "MISS"]


def test_cache_ttl_expires(http: httpx.Client, server: LocalServer) -> None:
    headers = {"cf-aig-cache-ttl": "1"}
    path = gateway_path(server)
    assert status(http.post(path, json={"text": "t"}, headers=headers)) == "MISS"
    assert status(http.post(path, json={"text": "t"}, headers=headers)) == "HIT"
    time.sleep(1.05)
    assert status(http.post(path, json={"text": "t"}, headers=headers)) == "MISS"


def test_gateway_cache_expiry_with_a_clock() -> None:
    now = [0.0]
    gateway = Gateway(clock=lambda: now[0])
    policy = CachePolicy(("gw", "key", "k"), ttl=10)
    gateway.store(policy, CachedAnswer(200, b"{}", "application/json"))
    now[0] = 9.9
    assert gateway.lookup(policy) is not None
    now[0] = 10.0
    assert gateway.lookup(policy) is None


def test_faulted_and_streamed_answers_are_not_cached(
    http: httpx.Client, server: LocalServer
) -> None:
    server.inject("malformed_event")  # a 200 with half a body
    assert status(cached_post(http, server, "f")) == "MISS"
    whole = cached_post(http, server, "f")
    assert status(whole) == "MISS" and whole.json()["success"] is True
    stream_body = {"prompt": "s", "stream": True}
    headers = {"cf-aig-cache-ttl": "60"}
    for _ in range(2):
        streamed = http.post(gateway_path(server, LEGACY), json=stream_body, headers=headers)
        assert status(streamed) == "MISS" and streamed.text.endswith("data: [DONE]\n\n")


def test_a_cache_hit_consumes_no_fault(http: httpx.Client, server: LocalServer) -> None:
    cached_post(http, server, "h")
    server.inject("server_error")
    assert cached_post(http, server, "h").status_code == 200
    assert len(server.pending_faults()) == 1
    failed = cached_post(http, server, "other")
    assert failed.status_code == 500 and status(failed) == "MISS"
    assert [e["fault"] for e in server.requests()] == [None, None, "server_error"]


def test_wrong_api_token_never_gets_a_cached_answer(
    http: httpx.Client, server: LocalServer
) -> None:
    cached_post(http, server, "secret")
    stranger = httpx.post(
        f"{server.root_url}{gateway_path(server)}",
        json={"text": "secret"},
        headers={"authorization": "Bearer wrong", "cf-aig-cache-ttl": "60"},
    )
    assert stranger.status_code == 401


@pytest.mark.parametrize(
    "metadata",
    ['{"user": "u1", "n": 3, "beta": true, "score": 0.5}', "{}"],
)
def test_valid_metadata(http: httpx.Client, server: LocalServer, metadata: str) -> None:
    response = http.post(
        gateway_path(server), json={"text": "m"}, headers={"cf-aig-metadata": metadata}
    )
    assert response.status_code == 200
    assert server.requests()[-1]["headers"]["cf-aig-metadata"] == metadata


@pytest.mark.parametrize(
    "metadata",
    [
        "not json",
        '["a"]',
        json.dumps({str(i): i for i in range(6)}),
        '{"nested": {"a": 1}}',
        '{"none": null}',
        '{"list": [1]}',
    ],
)
def test_invalid_metadata(http: httpx.Client, server: LocalServer, metadata: str) -> None:
    response = http.post(
        gateway_path(server), json={"text": "m"}, headers={"cf-aig-metadata": metadata}
    )
    assert response.status_code == 400
    error = gateway_error(response)
    assert error["code"] == 2017 and "cf-aig-metadata" in error["message"]
    assert status(response) == "MISS"


@pytest.mark.parametrize("ttl", ["0", "-5", "soon", "99999999"])
def test_invalid_cache_ttl(http: httpx.Client, server: LocalServer, ttl: str) -> None:
    response = http.post(
        gateway_path(server), json={"text": "m"}, headers={"cf-aig-cache-ttl": ttl}
    )
    assert response.status_code == 400 and gateway_error(response)["code"] == 2017


def test_every_gateway_answer_has_a_log_id(http: httpx.Client, server: LocalServer) -> None:
    ok = http.post(gateway_path(server), json={"text": "l"})
    bad = http.post(gateway_path(server), json={})
    ids = [r.headers["cf-aig-log-id"] for r in (ok, bad)]
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == 5006
    assert len({str(uuid.UUID(i)) for i in ids}) == 2
    assert "cf-aig-log-id" not in http.post(run_path(server, EMBED), json={"text": "l"}).headers


def test_openai_routes_through_the_gateway_cache(http: httpx.Client, server: LocalServer) -> None:
    path = f"/v1/{server.account_id}/gw/workers-ai/v1/embeddings"
    body = {"model": EMBED, "input": ["a", "b"]}
    headers = {"cf-aig-cache-ttl": "60"}
    first, second = (http.post(path, json=body, headers=headers) for _ in range(2))
    assert (status(first), status(second)) == ("MISS", "HIT")
    assert second.json() == first.json()
