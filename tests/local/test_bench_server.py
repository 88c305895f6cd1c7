"""bench/benchlib/server/process.py starts the local server and hands its endpoint to the
bench's worker scripts, whatever its random token looks like (``secrets.token_urlsafe`` may
start with "-")."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("uvicorn")

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))  # bench/ is the import root of its scripts and of benchlib
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


serverproc = _load("benchlib.server.process")


@pytest.mark.parametrize("token", ["-starts-with-a-dash", "--looks-like-an-option"])
def test_a_token_that_looks_like_an_option(token: str) -> None:
    from workers_ai import WorkersAI

    with serverproc.ServerProcess("dash", wrapped=False, token=token) as endpoint:
        assert endpoint.token == token
        with WorkersAI(
            account_id=endpoint.account_id, api_token=token, base_url=endpoint.base_url
        ) as client:
            assert client.chat("@cf/meta/llama-3.1-8b-instruct-fp8", prompt="hi there").text
        # what benchlib/measure/worker.py and cold.py parse back
        parser = argparse.ArgumentParser()
        for option in ("--base-url", "--account-id", "--token"):
            parser.add_argument(option, required=True)
        args = parser.parse_args(endpoint.as_args())
        assert (args.base_url, args.account_id, args.token) == (
            endpoint.base_url,
            "dash",
            token,
        )
