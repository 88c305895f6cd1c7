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


@pytest.mark.parametrize(
    ("module", "build"),
    [
        ("workers_ai", "pass"),
        (
            "langchain_workers_ai",
            "m.ChatWorkersAI(account_id='a', api_token='t'); "
            "m.WorkersAIEmbeddings(account_id='a', api_token='t')",
        ),
        ("llama_index.llms.workers_ai", "m.WorkersAI(account_id='a', api_token='t')"),
        (
            "llama_index.embeddings.workers_ai",
            "m.WorkersAIEmbedding(account_id='a', api_token='t')",
        ),
    ],
)
def test_httpx_loads_with_the_first_client_not_with_the_package(module: str, build: str) -> None:
    # httpx costs 60-90 ms to import (more where click, rich and pygments are installed, which
    # its CLI then loads): an adapter's import and construction must not pay it.
    code = (
        f"import sys, importlib; m = importlib.import_module({module!r}); {build}\n"
        "before = 'httpx' in sys.modules or 'workers_ai.client' in sys.modules\n"
        "import workers_ai; workers_ai.WorkersAI(account_id='a', api_token='t')\n"
        "print(before, 'httpx' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import workers_ai

    with pytest.raises(AttributeError, match="no attribute 'WorkersAi'"):
        workers_ai.WorkersAi  # noqa: B018
    from workers_ai import AsyncWorkersAI, WorkersAI
    from workers_ai.client import AsyncWorkersAI as ClientAsync
    from workers_ai.client import WorkersAI as ClientSync

    assert (WorkersAI, AsyncWorkersAI) == (ClientSync, ClientAsync)
    assert {"WorkersAI", "AsyncWorkersAI", "ChatChunk"} <= set(dir(workers_ai))
