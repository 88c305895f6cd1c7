"""`import workers_ai` stays small: neither framework, nor the local server's dependencies."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_core_import_pulls_in_no_framework() -> None:
    code = (
        "import sys, workers_ai; "
        "heavy = [m for m in ('langchain_core', 'llama_index.core', 'starlette', 'uvicorn', "
        "'llama_cpp') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_construction_does_no_io() -> None:
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network during construction')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from workers_ai import WorkersAI, AsyncWorkersAI\n"
        "WorkersAI(account_id='a', api_token='t'); AsyncWorkersAI(account_id='a', api_token='t')\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "ok"


def test_the_connection_pool_is_made_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from workers_ai import AsyncWorkersAI, WorkersAI

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an httpx client was made during construction")

    monkeypatch.setattr(httpx.Client, "__init__", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "__init__", refuse)
    WorkersAI(account_id="a", api_token="t").close()  # closing an unused client is a no-op
    AsyncWorkersAI(account_id="a", api_token="t")
