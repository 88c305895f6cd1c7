"""No leaked connections: after 1,000 failing calls the pool and the open file descriptors are
where they started.

The local server runs in a child process (``workers-ai serve``), so every descriptor this
process holds is the client's own (plus the test's control client, opened before the baseline).
Each case makes its calls with ``max_retries=0`` against one fault queued for all of them
(HTTP errors, streams cut or garbled mid-way, connection resets, refused tokens, abandoned
streams), through the sync and the async client.

The bound asserted, and why: the pool may keep idle keep-alive connections, at most one per
call in flight (sequential sync calls: 1; async calls: ``CONCURRENCY``), and each pooled
connection owns exactly one socket. So after the calls:

- no request still holds a connection (``pool._requests`` is empty, every connection is idle);
- ``len(pool.connections) <= calls in flight``;
- ``open fds - pooled connections`` equals its value before the calls, give or take ``SLACK``
  (2: descriptors the interpreter or the event loop may open for themselves).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from workers_ai import (
    APIConnectionError,
    APITimeoutError,
    AsyncWorkersAI,
    AuthenticationError,
    RateLimitError,
    ServerError,
    StreamError,
    WorkersAI,
    WorkersAIError,
)
from workers_ai_local import faults

pytest.importorskip("uvicorn")

CALLS = 1_000
TIMEOUT_CALLS = 50  # each waits out the client's timeout
CONCURRENCY = 8
SLACK = 2
CHAT = "@cf/meta/llama-3.1-8b-instruct-fp8"
ASK = [{"role": "user", "content": "tell me about the sea"}]  # seven stream events
_BANNER = re.compile(r"WORKERS_AI_BASE_URL=(?P<base>\S+)\s+account=(?P<account>\S+)")
_CREDENTIAL_ENV = ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID")


@dataclass(frozen=True)
class Remote:
    """The local server in a child process, and a control client to queue its faults."""

    base_url: str
    account_id: str
    token: str
    control: httpx.Client

    @property
    def faults_url(self) -> str:
        return self.base_url.removesuffix("/client/v4") + "/__local__/faults"

    def inject(self, kind: str, **fields: Any) -> None:
        answer = self.control.post(self.faults_url, json={"kind": kind, **fields})
        assert answer.status_code == 200, answer.text

    def reset(self) -> None:
        self.control.delete(self.faults_url).raise_for_status()


@pytest.fixture(scope="module")
def remote() -> Iterator[Remote]:
    token = secrets.token_urlsafe(18)
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_ENV}
    command = [sys.executable, "-m", "workers_ai.cli", "serve", "--port", "0", "--backend"]
    command += ["echo", f"--token={token}", "--account-id", "leaks"]  # a token may start with "-"
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        match = _BANNER.search(proc.stdout.readline())
        assert match, "the local server did not start"
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(headers=headers, timeout=10) as control:
            server = Remote(match["base"], match["account"], token, control)
            server.reset()
            yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


@dataclass(frozen=True)
class Case:
    name: str
    fault: dict[str, Any] | None  # queued for every call of the case
    call: str  # "chat", "stream" or "abandon" (read one chunk, then drop the stream)
    raises: tuple[type[WorkersAIError], ...] = ()
    calls: int = CALLS
    wrong_token: bool = False
    options: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("server_error", {"kind": "server_error"}, "chat", (ServerError,)),
    Case("rate_limit", {"kind": "rate_limit", "retry_after": 0}, "chat", (RateLimitError,)),
    Case("html_error", {"kind": "html_error"}, "stream", (ServerError,)),
    Case("empty_body", {"kind": "empty_body"}, "chat", (ServerError,)),
    Case("wrong_token", None, "stream", (AuthenticationError,), wrong_token=True),
    Case("cut_stream", {"kind": "cut_stream", "after": 3}, "stream", (StreamError,)),
    Case(
        "cut_stream_abrupt",
        {"kind": "cut_stream", "after": 3, "abrupt": True},
        "stream",
        (StreamError, APIConnectionError),
    ),
    Case("malformed_event", {"kind": "malformed_event", "at": 2}, "stream", (StreamError,)),
    Case("reset", {"kind": "reset"}, "stream", (APIConnectionError,)),
    Case(
        "timeout",
        {"kind": "latency", "delay": 0.3},
        "chat",
        (APITimeoutError,),
        calls=TIMEOUT_CALLS,
        options={"timeout": 0.02},
    ),
    Case("abandoned_stream", None, "abandon"),
]


def _skip_unknown_kind(case: Case) -> None:
    if case.fault is not None and case.fault["kind"] not in faults.KINDS:
        pytest.skip(f"the local server has no {case.fault['kind']!r} fault yet")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def pool_of(client: WorkersAI | AsyncWorkersAI) -> Any:
    """The httpcore connection pool under the client's httpx client (private attributes of
    httpx 0.28 / httpcore 1.0: ``Client._transport._pool``)."""
    http = client._http_client
    assert http is not None, "the client has not opened its pool"
    return http._transport._pool  # type: ignore[attr-defined]


@dataclass
class Snapshot:
    fds: int
    pooled: int
    busy: int  # connections not idle, and requests still waiting for one

    def unpooled_fds(self) -> int:
        return self.fds - self.pooled


def snapshot(client: WorkersAI | AsyncWorkersAI) -> Snapshot:
    pool = pool_of(client)
    connections = list(pool.connections)
    busy = sum(not c.is_idle() for c in connections) + len(pool._requests)
    return Snapshot(open_fds(), len(connections), busy)


def check(case: Case, before: Snapshot, after: Snapshot, in_flight: int) -> None:
    assert after.busy == 0, f"{case.name}: {after.busy} connections still checked out"
    assert after.pooled <= in_flight, f"{case.name}: the pool grew to {after.pooled}"
    drift = after.unpooled_fds() - before.unpooled_fds()
    assert abs(drift) <= SLACK, (
        f"{case.name}: {drift:+d} file descriptors not owned by the pool after {case.calls} "
        f"failing calls (before {before}, after {after})"
    )


def _client_options(remote: Remote, case: Case) -> dict[str, Any]:
    token = "wrong-" + remote.token if case.wrong_token else remote.token
    options = {"timeout": 10.0, **case.options}
    return {
        "account_id": remote.account_id,
        "api_token": token,
        "base_url": remote.base_url,
        "max_retries": 0,
        **options,
    }


def _warm_up(remote: Remote, client: WorkersAI) -> None:
    client.chat(CHAT, prompt="warm up")  # opens the pool and one keep-alive connection


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_sync_failing_calls_leak_nothing(remote: Remote, case: Case) -> None:
    _skip_unknown_kind(case)
    remote.reset()
    with WorkersAI(**_client_options(remote, case)) as client:
        if case.wrong_token:
            with pytest.raises(AuthenticationError):
                client.chat(CHAT, ASK)  # opens the pool all the same
        else:
            _warm_up(remote, client)
        before = snapshot(client)
        if case.fault is not None:
            remote.inject(**case.fault, count=case.calls)
        for _ in range(case.calls):
            if case.call == "abandon":
                stream = client.stream_chat(CHAT, ASK)
                next(iter(stream))
                del stream  # dropped mid-way: its generator closes and releases the connection
                continue
            with pytest.raises(case.raises):
                if case.call == "stream":
                    for _ in client.stream_chat(CHAT, ASK):
                        pass
                else:
                    client.chat(CHAT, ASK)
        after = snapshot(client)
        check(case, before, after, in_flight=1)
        if not case.wrong_token:
            client.chat(CHAT, prompt="still works")
    assert client._http_client is None  # closed with the block


async def _one_async_call(client: AsyncWorkersAI, case: Case) -> None:
    if case.call == "abandon":
        stream = client.stream_chat(CHAT, ASK)
        await anext(aiter(stream))
        # Dropped without aclose(): the event loop's async-generator finalizer has to close it.
        del stream
        return
    try:
        if case.call == "stream":
            async for _ in client.stream_chat(CHAT, ASK):
                pass
        else:
            await client.chat(CHAT, ASK)
    except case.raises:
        return
    raise AssertionError(f"{case.name}: the call did not fail")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_async_failing_calls_leak_nothing(remote: Remote, case: Case) -> None:
    _skip_unknown_kind(case)
    remote.reset()
    async with AsyncWorkersAI(**_client_options(remote, case)) as client:
        if case.wrong_token:
            with pytest.raises(AuthenticationError):
                await client.chat(CHAT, ASK)
        else:
            await client.chat(CHAT, prompt="warm up")
        before = snapshot(client)
        if case.fault is not None:
            remote.inject(**case.fault, count=case.calls)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one() -> None:
            async with gate:
                await _one_async_call(client, case)

        await asyncio.gather(*(one() for _ in range(case.calls)))
        await _settle(client)
        after = snapshot(client)
        check(case, before, after, in_flight=CONCURRENCY)
        if not case.wrong_token:
            await client.chat(CHAT, prompt="still works")
    assert client._http_client is None


async def _settle(client: AsyncWorkersAI, wait: float = 2.0) -> None:
    """Let the loop run the finalizers of dropped async generators (their aclose is scheduled,
    not immediate), up to ``wait`` seconds."""
    for _ in range(int(wait / 0.01)):
        if not snapshot(client).busy:
            return
        await asyncio.sleep(0.01)


def test_the_check_sees_a_leaked_connection(remote: Remote) -> None:
    """The instrument itself: a response opened and never closed shows as a busy connection
    and one more descriptor."""
    case = Case("leak on purpose", None, "chat")
    with WorkersAI(**_client_options(remote, case)) as client:
        _warm_up(remote, client)
        before = snapshot(client)
        request = client._http.build_request(
            "POST", client._run_url(CHAT), json={"prompt": "x"}, headers=client._headers()
        )
        leaked = client._http.send(request, stream=True)  # not closed, not read
        second = client._http.send(request, stream=True)  # needs a second connection
        after = snapshot(client)
        assert after.busy >= 2  # two connections in use (and the two requests holding them)
        assert after.fds == before.fds + 1  # the first reused the idle connection
        with pytest.raises(AssertionError, match="still checked out"):
            check(case, before, after, in_flight=1)
        leaked.close()
        second.close()
