"""Every fault kind, as a client meets it over loopback HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from workers_ai_local import LocalServer
from workers_ai_local.faults import FaultError

LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
BODY = {"messages": [{"role": "user", "content": "one two three four"}]}


def run_path(server: LocalServer, model: str = LEGACY) -> str:
    return f"/client/v4/accounts/{server.account_id}/ai/run/{model}"


def post(http: httpx.Client, server: LocalServer, **extra: Any) -> httpx.Response:
    return http.post(run_path(server), json={**BODY, **extra})


def stream_data(http: httpx.Client, server: LocalServer, model: str = LEGACY) -> list[str]:
    with connect_sse(http, "POST", run_path(server, model), json={**BODY, "stream": True}) as src:
        return [event.data for event in src.iter_sse()]


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert body["success"] is False and body["result"] is None
    return body["errors"]  # type: ignore[no-any-return]


def test_rate_limit_then_recovery(http: httpx.Client, server: LocalServer) -> None:
    server.inject("rate_limit", count=2, retry_after=3)
    for _ in range(2):
        response = post(http, server)
        assert response.status_code == 429 and response.headers["retry-after"] == "3"
        assert errors(response) == [
            {"code": 3040, "message": "Capacity temporarily exceeded, please try again."}
        ]
    assert post(http, server).status_code == 200
    assert [e["fault"] for e in server.requests()] == ["rate_limit", "rate_limit", None]
    assert [e["status"] for e in server.requests()] == [429, 429, 200]


def test_quota(http: httpx.Client, server: LocalServer) -> None:
    server.inject("quota")
    response = post(http, server)
    assert response.status_code == 429 and "retry-after" not in response.headers
    (error,) = errors(response)
    assert error["code"] == 3036
    assert error["message"].startswith("You have used up your daily free allocation of 10,000")


@pytest.mark.parametrize("status", [None, 503])
def test_server_error(http: httpx.Client, server: LocalServer, status: int | None) -> None:
    server.inject("server_error", **({} if status is None else {"status": status}))
    response = post(http, server)
    assert response.status_code == (status or 500)
    assert errors(response) == [{"code": 3001, "message": "Internal server error"}]


def test_generic_error_and_string_code(http: httpx.Client, server: LocalServer) -> None:
    server.inject("error", status=408, code=3007, message="Timeout", retry_after=0.5)
    server.inject("string_code")
    first = post(http, server)
    assert first.status_code == 408 and first.headers["retry-after"] == "0.5"
    assert errors(first) == [{"code": 3007, "message": "Timeout"}]
    second = post(http, server)
    assert second.status_code == 429 and errors(second)[0]["code"] == "3040"


def test_latency(http: httpx.Client, server: LocalServer) -> None:
    server.inject("latency", delay=0.3)
    started = time.monotonic()
    assert post(http, server).json()["result"]["response"] == "Echo: one two three four"
    assert time.monotonic() - started >= 0.3


def test_latency_trips_a_client_timeout(server: LocalServer) -> None:
    server.inject("latency", delay=0.5)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{server.root_url}{run_path(server)}",
            json=BODY,
            headers={"authorization": f"Bearer {server.token}"},
            timeout=0.1,
        )


def test_stall_stream(http: httpx.Client, server: LocalServer) -> None:
    server.inject("stall_stream", after=2, delay=0.3)
    started = time.monotonic()
    data = stream_data(http, server)
    assert time.monotonic() - started >= 0.3 and data[-1] == "[DONE]"
    server.inject("stall_stream", delay=0.2)
    started = time.monotonic()
    assert post(http, server).status_code == 200
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
def test_cut_stream_ends_without_done(http: httpx.Client, server: LocalServer, model: str) -> None:
    server.inject("cut_stream", after=3)
    data = stream_data(http, server, model)
    assert len(data) == 3 and "[DONE]" not in data
    assert all(isinstance(json.loads(d), dict) for d in data)


def test_cut_stream_abrupt_drops_the_connection(http: httpx.Client, server: LocalServer) -> None:
    server.inject("cut_stream", after=1, abrupt=True)
    with pytest.raises(httpx.RemoteProtocolError):
        stream_data(http, server)


def test_cut_stream_on_a_non_stream_request_truncates_the_body(
    http: httpx.Client, server: LocalServer
) -> None:
    server.inject("cut_stream")
    with pytest.raises(httpx.RemoteProtocolError):
        post(http, server)
    assert post(http, server).status_code == 200  # the server is fine afterwards


def test_malformed_event(http: httpx.Client, server: LocalServer) -> None:
    server.inject("malformed_event", at=2)
    data = stream_data(http, server)
    assert data[-1] == "[DONE]"
    with pytest.raises(json.JSONDecodeError):
        json.loads(data[2])
    for i, item in enumerate(data[:-1]):
        if i != 2:
            json.loads(item)
    server.inject("malformed_event")
    response = post(http, server)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_html_error(http: httpx.Client, server: LocalServer) -> None:
    server.inject("html_error")
    response = post(http, server)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text and "cf-ray" in response.headers


@pytest.mark.parametrize("status", [None, 503])
def test_empty_body(http: httpx.Client, server: LocalServer, status: int | None) -> None:
    server.inject("empty_body", **({} if status is None else {"status": status}))
    response = post(http, server)
    assert response.status_code == (status or 502) and response.content == b""


def test_json_for_stream(http: httpx.Client, server: LocalServer) -> None:
    server.inject("json_for_stream", count=2)
    response = post(http, server, stream=True)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["result"]["response"] == "Echo: one two three four"
    path = f"/client/v4/accounts/{server.account_id}/ai/v1/chat/completions"
    body = {"model": LEGACY, "stream": True, **BODY}
    assert http.post(path, json=body).json()["object"] == "chat.completion"


def test_scope_decides_which_routes_a_fault_hits(http: httpx.Client, server: LocalServer) -> None:
    search = f"/client/v4/accounts/{server.account_id}/ai/models/search"
    server.inject("server_error")
    assert http.get(search).status_code == 200  # data faults skip model search ...
    assert post(http, server).status_code == 500  # ... and wait for a data request
    server.inject("rate_limit", scope="models")
    assert post(http, server).status_code == 200
    assert http.get(search).status_code == 429
    server.inject("quota", scope="all", count=2)
    assert http.get(search).status_code == 429 and post(http, server).status_code == 429


def test_faults_apply_in_order_and_skip_unauthenticated(
    http: httpx.Client, server: LocalServer
) -> None:
    server.inject("rate_limit")
    server.inject("server_error")
    anonymous = httpx.post(f"{server.root_url}{run_path(server)}", json=BODY)
    assert anonymous.status_code == 401
    assert [post(http, server).status_code for _ in range(3)] == [429, 500, 200]
    assert server.pending_faults() == []


def test_gateway_and_openai_routes_take_faults(http: httpx.Client, server: LocalServer) -> None:
    server.inject("rate_limit", count=2)
    gateway = f"{server.gateway_url}/{server.account_id}/gw/workers-ai/{LEGACY}"
    assert http.post(gateway, json=BODY).status_code == 429
    path = f"/client/v4/accounts/{server.account_id}/ai/v1/chat/completions"
    assert http.post(path, json={"model": LEGACY, **BODY}).status_code == 429


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "nope"},
        {"kind": "latency", "status": 500},
        {"kind": "server_error", "status": 404},
        {"kind": "error", "status": 400},
        {"kind": "rate_limit", "retry_after": -1},
        {"kind": "cut_stream", "after": "2"},
        {"kind": "cut_stream", "abrupt": 1},
        {"kind": "quota", "scope": "everything"},
    ],
)
def test_invalid_fault_specs(server: LocalServer, spec: dict[str, Any]) -> None:
    kind = spec.pop("kind")
    with pytest.raises(FaultError):
        server.inject(kind, **spec)
