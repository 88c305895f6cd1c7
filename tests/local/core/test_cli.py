"""The `workers-ai` command: serve, chat, embed, models, and one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

from workers_ai.cli import main


def args(server: Any) -> list[str]:
    return [
        "--account-id",
        server.account_id,
        "--api-token",
        server.token,
        "--base-url",
        server.base_url,
    ]


def test_chat(server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hello sea", *args(server)]) == 0
    assert "hello sea" in capsys.readouterr().out


def test_chat_stream_with_system_and_options(
    server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["chat", "hi there", "--stream", "--system", "be brief", "--max-tokens", "9", *args(server)]
    )
    assert code == 0 and "hi there" in capsys.readouterr().out
    [sent] = server.requests()
    assert sent["body"]["stream"] is True and sent["body"]["max_tokens"] == 9
    assert sent["body"]["messages"][0] == {"role": "system", "content": "be brief"}


def test_embed_prints_json_lines(server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed", "one", "two", *args(server)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == ["one", "two"]
    assert lines[0]["dims"] == len(lines[0]["embedding"]) == 768


def test_models(server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--task", "Text Embeddings", *args(server)]) == 0
    out = capsys.readouterr().out
    assert "@cf/baai/bge-base-en-v1.5" in out and "llama" not in out


def test_an_expected_failure_is_one_line_without_traceback(
    server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = ["--account-id", server.account_id, "--api-token", "wrong", "--base-url", server.base_url]
    assert main(["chat", "hi", *bad]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "code 10000" in err


def test_missing_credentials_exit_2(monkeypatch: Any, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["chat", "hi"]) == 2
    assert "CLOUDFLARE_ACCOUNT_ID" in capsys.readouterr().err


def test_serve_prints_its_base_url_first_and_serves() -> None:
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": "cli-token", "CLOUDFLARE_ACCOUNT_ID": "cli-acct"}
    process = subprocess.Popen(
        [sys.executable, "-m", "workers_ai.cli", "serve", "--port", "0", "--backend", "echo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/client/v4)", first)
        assert match, first
        base_url = match.group(1)
        response = httpx.post(
            f"{base_url}/accounts/cli-acct/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8",
            headers={"Authorization": "Bearer cli-token"},
            json={"prompt": "ping"},
            timeout=10,
        )
        assert response.json()["result"]["response"].endswith("ping")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_without_the_local_server_names_its_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "workers_ai_local", None)  # as if not installed
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workers-ai: `workers-ai serve` runs the local server")
    assert err.rstrip().endswith("pip install workers-ai-local")
