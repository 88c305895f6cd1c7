"""The ``reset`` fault and probabilistic faults on the local server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from workers_ai_local import LocalServer
from workers_ai_local.faults import Fault, FaultBook, FaultError, parse_fault

EMBED = "@cf/baai/bge-base-en-v1.5"


def run_path(server: LocalServer) -> str:
    return f"/client/v4/accounts/{server.account_id}/ai/run/{EMBED}"


def embed(http: httpx.Client, server: LocalServer) -> int:
    return http.post(run_path(server), json={"text": "x"}).status_code


# -- reset --------------------------------------------------------------------------------


def test_reset_drops_the_connection_unanswered(http: httpx.Client, server: LocalServer) -> None:
    server.inject("reset")
    with pytest.raises(httpx.ReadError):
        embed(http, server)
    assert embed(http, server) == 200
    log = server.requests()
    assert [(e["fault"], e["status"]) for e in log] == [("reset", None), (None, 200)]


def test_reset_on_the_gateway_and_model_search(http: httpx.Client, server: LocalServer) -> None:
    server.inject("reset", scope="all", count=2)
    with pytest.raises(httpx.ReadError):
        http.post(f"/v1/{server.account_id}/gw/workers-ai/{EMBED}", json={"text": "x"})
    with pytest.raises(httpx.ReadError):
        http.get(f"/client/v4/accounts/{server.account_id}/ai/models/search")
    assert server.pending_faults() == []


# -- probability ----------------------------------------------------------------------------


def test_probability_applies_about_that_fraction(http: httpx.Client, server: LocalServer) -> None:
    server.inject("server_error", probability=0.25, seed=7)
    statuses = [embed(http, server) for _ in range(400)]
    failures = statuses.count(500)
    assert 70 <= failures <= 130 and set(statuses) == {200, 500}
    [pending] = server.pending_faults()
    assert pending["probability"] == 0.25 and pending["remaining"] is None  # until reset


def test_a_seed_makes_the_pattern_reproducible(http: httpx.Client, server: LocalServer) -> None:
    def pattern() -> list[int]:
        server.reset()
        server.inject("rate_limit", probability=0.5, seed=42)
        return [embed(http, server) for _ in range(40)]

    assert pattern() == pattern()


def test_probability_with_a_count_stops_after_count_hits(
    http: httpx.Client, server: LocalServer
) -> None:
    server.inject("quota", probability=0.5, count=3, seed=1)
    statuses = [embed(http, server) for _ in range(60)]
    assert statuses.count(429) == 3 and server.pending_faults() == []


def test_probability_fault_over_the_control_route(http: httpx.Client, server: LocalServer) -> None:
    spec = {"kind": "reset", "probability": 0.5, "seed": 3, "count": 0}
    shown = http.post("/__local__/faults", json=spec).json()["result"]
    assert shown == [
        {
            "kind": "reset",
            "count": None,
            "scope": "data",
            "probability": 0.5,
            "seed": 3,
            "remaining": None,
        }
    ]
    bad = http.post("/__local__/faults", json={"kind": "reset", "probability": 2})
    assert bad.status_code == 400


def test_a_spared_request_moves_on_to_the_next_fault() -> None:
    book = FaultBook()
    book.add(parse_fault({"kind": "server_error", "probability": 0.5, "seed": 0}))
    book.add(parse_fault({"kind": "rate_limit", "count": 100}))
    kinds = [f.kind if f else None for f in (book.take("data") for _ in range(100))]
    assert None not in kinds and {"server_error", "rate_limit"} == set(kinds)


def test_count_defaults() -> None:
    assert parse_fault({"kind": "latency"}).count == 1
    assert parse_fault({"kind": "latency", "probability": 0.1}).count is None
    assert parse_fault({"kind": "latency", "count": 0}).count is None
    assert parse_fault({"kind": "latency"}) == Fault("latency")


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "server_error", "probability": 0},
        {"kind": "server_error", "probability": 1.5},
        {"kind": "server_error", "probability": "half"},
        {"kind": "server_error", "seed": 3},
        {"kind": "server_error", "probability": 0.5, "seed": "x"},
        {"kind": "server_error", "count": -1},
        {"kind": "reset", "delay": 1},
    ],
)
def test_invalid_specs(spec: dict[str, Any]) -> None:
    with pytest.raises(FaultError):
        parse_fault(spec)
