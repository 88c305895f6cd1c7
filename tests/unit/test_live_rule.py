"""The live tier's rule (tests/live/conftest.py): a live test reaches Cloudflare's API or skips.

Proved without a network call, in a shell set up for the local server (WORKERS_AI_BASE_URL on
loopback, an AI Gateway configured): without credentials every live test skips and sends
nothing; with (fake) credentials every client a live test builds is configured for
https://api.cloudflare.com/client/v4, and every request the whole live tier sends goes there.
The last is checked by running tests/live in a subprocess whose HTTP transports are replaced by
a recorder that answers 401 (so nothing leaves the machine) and whose sockets refuse anything
but loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import tests.live.langchain.test_live_standard as live_langchain
from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI as LlamaIndexWorkersAI
from tests.live.conftest import (
    ACCOUNT_ID_ENV,
    API_TOKEN_ENV,
    SKIP_REASON,
    live_account,
    use_cloudflare,
)
from workers_ai import WorkersAI

# Spelled out, not imported from the rule: its constant could drift.
CLOUDFLARE = "https://api.cloudflare.com/client/v4"
ROOT = Path(__file__).resolve().parents[2]
FAKE_ACCOUNT = "fake-account-id"
FAKE_TOKEN = "fake-api-token"
# A shell set up for the local server and an AI Gateway on it.
ELSEWHERE = {
    "WORKERS_AI_BASE_URL": "http://127.0.0.1:8787/client/v4",
    "WORKERS_AI_GATEWAY_ID": "local-gateway",
    "WORKERS_AI_GATEWAY_URL": "http://127.0.0.1:8787/v1",
    "WORKERS_AI_GATEWAY_TOKEN": "local-gateway-token",
}


def _environment(monkeypatch: pytest.MonkeyPatch, *, credentials: bool) -> None:
    for name in ACCOUNT_ID_ENV + API_TOKEN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in ELSEWHERE.items():
        monkeypatch.setenv(name, value)
    if credentials:  # the CF_ spellings: the rule reads both
        monkeypatch.setenv("CF_ACCOUNT_ID", FAKE_ACCOUNT)
        monkeypatch.setenv("CF_API_TOKEN", FAKE_TOKEN)


# -- in process: the helper the ``cloudflare`` fixture is --------------------------------------


def test_without_credentials_a_live_test_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, credentials=False)
    assert live_account() is None
    with pytest.raises(pytest.skip.Exception, match="CLOUDFLARE_ACCOUNT_ID"):
        use_cloudflare(monkeypatch)
    assert live_account({"CLOUDFLARE_ACCOUNT_ID": "a", "CF_API_TOKEN": " "}) is None


def test_with_credentials_every_live_client_is_configured_for_cloudflare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _environment(monkeypatch, credentials=True)
    cloudflare = use_cloudflare(monkeypatch)
    assert (cloudflare.account_id, cloudflare.api_token) == (FAKE_ACCOUNT, FAKE_TOKEN)
    assert os.environ["WORKERS_AI_BASE_URL"] == CLOUDFLARE
    assert not {"WORKERS_AI_GATEWAY_ID", "WORKERS_AI_GATEWAY_URL"} & set(os.environ)

    chat = live_langchain.TestLiveLegacyFamily().chat_model_params
    embeddings = live_langchain.TestLiveEmbeddings().embedding_model_params
    clients: dict[str, Any] = {
        "cloudflare.client()": cloudflare.client(),
        "cloudflare.async_client()": cloudflare.async_client(),
        "WorkersAI() from the environment": WorkersAI(),
        "ChatWorkersAI (live suite)": ChatWorkersAI(**chat).sync_client(),
        "WorkersAIEmbeddings (live suite)": WorkersAIEmbeddings(**embeddings).sync_client(),
        "ChatWorkersAI() from the environment": ChatWorkersAI(model=chat["model"]).sync_client(),
        "llama_index WorkersAI": LlamaIndexWorkersAI(**cloudflare.connection()).sync_client(),
        "llama_index WorkersAIEmbedding": WorkersAIEmbedding(
            **cloudflare.connection()
        ).sync_client(),
    }
    for name, client in clients.items():
        config = client.config
        assert config.base_url == CLOUDFLARE, name
        assert config.gateway_id is None, name
        assert config.account_id == FAKE_ACCOUNT, name
        assert config.run_url("@cf/x/y").startswith(f"{CLOUDFLARE}/accounts/{FAKE_ACCOUNT}/"), name


# -- the whole live tier, in a subprocess with no way out --------------------------------------

PROBE = '''
"""Loaded with -p: every HTTP request is recorded and answered 401, sockets stay on loopback."""

import ipaddress
import json
import os
import socket

import httpx

LOG = os.environ["LIVE_RULE_LOG"]
_current = {"test": None}
_getaddrinfo, _connect = socket.getaddrinfo, socket.socket.connect


def _log(**entry):
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\\n")


def _loopback(host):
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _answer(request):
    _log(kind="request", test=_current["test"], url=str(request.url))
    body = {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}
    return httpx.Response(401, json=body, request=request)


def _handle(self, request):
    return _answer(request)


async def _handle_async(self, request):
    return _answer(request)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _loopback(host.decode() if isinstance(host, bytes) else host):
        _log(kind="socket", test=_current["test"], host=str(host))
        raise OSError(f"live rule probe: no network ({host})")
    return _getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        _log(kind="socket", test=_current["test"], host=str(address[0]))
        raise OSError(f"live rule probe: no network ({address[0]})")
    return _connect(self, address)


httpx.HTTPTransport.handle_request = _handle
httpx.AsyncHTTPTransport.handle_async_request = _handle_async
socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded_connect


def pytest_runtest_setup(item):
    _current["test"] = item.nodeid


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        reason = report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple) else ""
        _log(kind="outcome", test=report.nodeid, outcome=report.outcome, reason=reason)
'''


def _run_live_tier(tmp_path: Path, *, credentials: bool) -> list[dict[str, Any]]:
    (tmp_path / "live_rule_probe.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    log = tmp_path / "log.jsonl"
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ACCOUNT_ID_ENV + API_TOKEN_ENV and not name.startswith("PYTEST_")
    }
    env.update(ELSEWHERE)
    if credentials:
        env.update(CF_ACCOUNT_ID=FAKE_ACCOUNT, CF_API_TOKEN=FAKE_TOKEN)
    env["LIVE_RULE_LOG"] = str(log)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "tests/live", "-q", "-p", "live_rule_probe"]
    command += ["-p", "no:randomly", "-p", "no:cacheprovider", "--tb=no", "--no-header"]
    finished = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert finished.returncode in (0, 1), finished.stdout[-3000:] + finished.stderr[-3000:]
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert any(e["kind"] == "outcome" for e in entries), finished.stdout[-3000:]
    return entries


def test_live_tier_without_credentials_skips_and_sends_nothing(tmp_path: Path) -> None:
    entries = _run_live_tier(tmp_path, credentials=False)
    outcomes = [e for e in entries if e["kind"] == "outcome"]
    assert {e["outcome"] for e in outcomes} == {"skipped"}
    assert {e["reason"] for e in outcomes} == {f"Skipped: {SKIP_REASON}"}
    assert [e for e in entries if e["kind"] != "outcome"] == []


def test_live_tier_with_credentials_sends_everything_to_cloudflare(tmp_path: Path) -> None:
    entries = _run_live_tier(tmp_path, credentials=True)
    requests = [e for e in entries if e["kind"] == "request"]
    assert requests
    elsewhere = [e for e in requests if not e["url"].startswith(f"{CLOUDFLARE}/accounts/")]
    assert elsewhere == []
    assert {urlsplit(e["url"]).path.split("/")[4] for e in requests} == {FAKE_ACCOUNT}
    # Every live test file built clients and sent requests (all of them to Cloudflare).
    files = {e["test"].split("::")[0] for e in requests}
    assert files == {
        "tests/live/core/test_live_core.py",
        "tests/live/langchain/test_live_standard.py",
        "tests/live/llama_index/test_conformance_live.py",
    }
