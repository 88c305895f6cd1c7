"""The local Workers AI server (echo backend) in a process of its own, over loopback.

The server runs in a separate process so that its CPU time never lands in the client process
being measured, and so that it costs every subject the same. It is started through
``serve.py`` (``workers-ai serve`` with, if asked, paced streams; see there
why) unless ``wrapped=False``.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

SERVE = Path(__file__).resolve().with_name("serve.py")  # imports only workers_ai: run by path
_BANNER = re.compile(r"WORKERS_AI_BASE_URL=(?P<base>\S+)\s+account=(?P<account>\S+)")
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0
ENV_TO_DROP = (
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_TOKEN",
    "CF_ACCOUNT_ID",
    "CF_API_TOKEN",
    "CF_AI_API_TOKEN",
    "WORKERS_AI_BASE_URL",
    "WORKERS_AI_GATEWAY_ID",
    "BASE_URL",
    "AI_GATEWAY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING_V2",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def clean_env() -> dict[str, str]:
    """This process's environment without credentials, endpoints, proxies or tracing."""
    return {k: v for k, v in os.environ.items() if k not in ENV_TO_DROP}


@dataclass(frozen=True)
class Endpoint:
    """Where a subject sends its requests and how it authenticates."""

    base_url: str  # .../client/v4, the value of WORKERS_AI_BASE_URL
    account_id: str
    token: str

    @property
    def accounts_url(self) -> str:
        return f"{self.base_url}/accounts"

    @property
    def ai_url(self) -> str:
        return f"{self.accounts_url}/{self.account_id}/ai"

    @property
    def openai_url(self) -> str:
        """The OpenAI-compatible base URL (``.../ai/v1``)."""
        return f"{self.ai_url}/v1"

    def run_url(self, model: str) -> str:
        return f"{self.ai_url}/run/{model}"

    def as_args(self) -> list[str]:
        # "--token=T", not "--token", "T": a random token may start with "-", which argparse
        # would take for an option.
        return [
            f"--base-url={self.base_url}",
            f"--account-id={self.account_id}",
            f"--token={self.token}",
        ]


class ServerProcess:
    """``workers-ai serve --port 0 --backend echo`` as a child process; read its banner."""

    def __init__(
        self,
        account_id: str = "bench",
        *,
        wrapped: bool = True,
        pace_us: float = 0.0,
        token: str | None = None,
    ) -> None:
        self._account_id = account_id
        self._wrapped = wrapped  # launch through serve.py (stream pacing)
        self._pace_us = pace_us  # serve.py: microseconds between stream writes
        self._token = token or secrets.token_urlsafe(18)  # random: may start with "-"
        self._proc: subprocess.Popen[str] | None = None
        self.endpoint: Endpoint | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the server is not running")
        return self._proc.pid

    def start(self) -> Endpoint:
        launcher = [str(SERVE)] if self._wrapped else ["-m", "workers_ai.cli"]
        command = [
            sys.executable,
            *launcher,
            "serve",
            "--port",
            "0",
            "--backend",
            "echo",
            f"--token={self._token}",  # one argument: a token may start with "-"
            f"--account-id={self._account_id}",
        ]
        # stderr goes to a file, not a pipe: a pipe nobody reads would block a chatty server.
        # (Closing our handle leaves the child's copy open.)
        with tempfile.TemporaryFile(mode="w+") as errors:
            self._proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env={**clean_env(), "BENCH_STREAM_PACE_US": str(self._pace_us)},
            )
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline()
            match = _BANNER.search(line)
            if match is None:
                self.stop()
                errors.seek(0)
                said = errors.read()[-2000:]
                raise RuntimeError(f"the local server did not start: {line!r}; stderr: {said}")
        self.endpoint = Endpoint(match["base"], match["account"], self._token)
        self._wait_ready(self.endpoint)
        return self.endpoint

    @staticmethod
    def _wait_ready(endpoint: Endpoint) -> None:
        import httpx

        deadline = time.monotonic() + _START_TIMEOUT
        headers = {"Authorization": f"Bearer {endpoint.token}"}
        url = f"{endpoint.ai_url}/models/search"
        while True:
            try:
                if httpx.get(url, headers=headers, params={"per_page": 1}).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the local server does not answer")
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(_STOP_TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
