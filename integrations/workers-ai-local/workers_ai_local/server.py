"""Running the app: :class:`LocalServer` in a background thread (tests, notebooks) and
:func:`run_server` in the foreground (the ``workers-ai serve`` command)."""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

import uvicorn

from workers_ai_local.app import create_app
from workers_ai_local.backends import Backend
from workers_ai_local.batch import DEFAULT_PENDING_POLLS, BatchBook
from workers_ai_local.faults import FaultBook, parse_fault
from workers_ai_local.gateway import Gateway, make_settings
from workers_ai_local.registry import make_backend
from workers_ai_local.requestlog import RequestLog

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_ACCOUNT_ID = "local"
TOKEN_ENV = ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN")
ACCOUNT_ENV = ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID")
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0
_BACKLOG = 2048


@dataclass(frozen=True)
class Credentials:
    token: str
    account_id: str
    token_source: str  # "argument", "generated" or the environment variable it came from


def resolve_credentials(token: str | None = None, account_id: str | None = None) -> Credentials:
    """Argument, then environment (the same variables the client reads), then a default:
    a fresh random token and account ``local``, so a client configured from the same
    environment talks to the server without further setup."""
    source = "argument"
    if token is None:
        source, token = next(
            ((n, os.environ[n]) for n in TOKEN_ENV if os.environ.get(n)),
            ("generated", secrets.token_urlsafe(24)),
        )
    if account_id is None:
        account_id = next(
            (os.environ[n] for n in ACCOUNT_ENV if os.environ.get(n)), DEFAULT_ACCOUNT_ID
        )
    return Credentials(token, account_id, source)


def _bind(host: str, port: int) -> socket.socket:
    # Binding here (not in uvicorn) makes port 0 resolve before start() returns, without races.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket names its protocol. Without it a body written after its headers waits for the
    # client's delayed ACK on every kept-alive request (bench/RESULTS.md).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    # Listening now queues early connections instead of refusing them before uvicorn is up.
    sock.listen(_BACKLOG)
    return sock


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class LocalServer:
    """The local Workers AI server on a background thread.

    >>> with LocalServer(port=0) as server:            # doctest: +SKIP
    ...     client = WorkersAI(base_url=server.base_url, account_id=server.account_id,
    ...                        api_token=server.token)

    ``inject``, ``reset`` and ``requests`` reach the fault queue and request log in process,
    the same state the ``/__local__/`` control routes expose over HTTP; ``configure_batch`` and
    ``configure_gateway`` change what the constructor set (``/__local__/batch`` and
    ``/__local__/gateway``), and ``reset`` restores it.

    - ``batch_pending_polls``: how many polls of an async batch job answer queued/running
      before the results (0: the first poll has them).
    - ``gateway_token``: makes the gateway authenticated (``cf-aig-authorization: Bearer ...``).
    - ``gateway_ids``: the gateway ids that exist; None (the default) accepts any id.
    - ``paid_plan``: the account is on Workers Paid; on the Free plan (the default) models that
      need Paid answer 403 / 5035, as Cloudflare's do.
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token: str | None = None,
        account_id: str | None = None,
        backend: Backend | None = None,
        log_level: str = "warning",
        batch_pending_polls: int = DEFAULT_PENDING_POLLS,
        gateway_token: str | None = None,
        gateway_ids: Iterable[str] | None = None,
        paid_plan: bool = False,
    ) -> None:
        creds = resolve_credentials(token, account_id)
        self.token = creds.token
        self.account_id = creds.account_id
        self.host = host
        self.backend: Backend = backend if backend is not None else make_backend("echo")
        self._faults = FaultBook()
        self._log = RequestLog()
        self._batches = BatchBook(batch_pending_polls)
        self._gateway = Gateway(make_settings(gateway_token, gateway_ids))
        self._app = create_app(
            self.token,
            self.account_id,
            self.backend,
            faults=self._faults,
            log=self._log,
            batches=self._batches,
            gateway=self._gateway,
            paid_plan=paid_plan,
        )
        self._requested_port = port
        self._log_level = log_level
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("LocalServer is not running; call start() first")
        port: int = self._sock.getsockname()[1]
        return port

    @property
    def root_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """The value for ``WORKERS_AI_BASE_URL``."""
        return f"{self.root_url}/client/v4"

    @property
    def gateway_url(self) -> str:
        """Stands in for ``https://gateway.ai.cloudflare.com/v1``."""
        return f"{self.root_url}/v1"

    def start(self) -> LocalServer:
        if self._thread is not None:
            return self
        self._sock = _bind(self.host, self._requested_port)
        config = uvicorn.Config(
            self._app,
            log_level=self._log_level,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._sock]},
            name=f"workers-ai-local-{self.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the local Workers AI server failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._sock
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():
                server.force_exit = True
                thread.join(_STOP_TIMEOUT)
        if sock is not None:
            sock.close()
            self._sock = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def inject(self, kind: str, **fields: Any) -> None:
        """Queue a fault, e.g. ``inject("rate_limit", count=2, retry_after=0)`` or, for a
        soak, ``inject("server_error", probability=0.05, seed=1)`` (until reset)."""
        self._faults.add(parse_fault({"kind": kind, **fields}))

    def configure_batch(self, pending_polls: int) -> None:
        """How many polls of each new batch job stay pending (queued, then running)."""
        self._batches.configure(pending_polls)

    def configure_gateway(self, token: str | None = None, ids: Iterable[str] | None = None) -> None:
        """Replace the gateway settings: a token makes it authenticated; ``ids`` limits
        which gateway ids exist (None: any)."""
        self._gateway.configure(make_settings(token, ids))

    def pending_faults(self) -> list[dict[str, Any]]:
        return self._faults.pending()

    def requests(self) -> list[dict[str, Any]]:
        """Copies of the logged requests, oldest first."""
        return self._log.entries()

    def reset(self) -> None:
        """Clear pending faults, the request log, batch jobs and the gateway cache, and
        restore the constructor's batch and gateway settings."""
        self._faults.clear()
        self._log.clear()
        self._batches.reset()
        self._gateway.reset()


def banner(base_url: str, creds: Credentials, backend: Backend, paid_plan: bool = False) -> str:
    token = (
        creds.token
        if creds.token_source in ("argument", "generated")
        else (
            f"${creds.token_source}"  # never print a token that came from the environment
        )
    )
    return (
        f"Workers AI local server: WORKERS_AI_BASE_URL={base_url}  "
        f"account={creds.account_id} token={token} backend={backend.name} "
        f"plan={'paid' if paid_plan else 'free'}"
    )


def run_server(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    account_id: str | None = None,
    backend: Backend | str = "auto",
    *,
    log_level: str = "warning",
    out: TextIO | None = None,
    paid_plan: bool = False,
) -> None:
    """Serve in the foreground until Ctrl-C. The first line printed is the startup banner with
    the base URL, account and token a client needs (port 0 prints the port actually bound)."""
    chosen = make_backend(backend) if isinstance(backend, str) else backend
    creds = resolve_credentials(token, account_id)
    sock = _bind(host, port)
    base_url = f"http://{_url_host(host)}:{sock.getsockname()[1]}/client/v4"
    stream = out if out is not None else sys.stdout
    print(banner(base_url, creds, chosen, paid_plan), file=stream, flush=True)
    app = create_app(creds.token, creds.account_id, chosen, paid_plan=paid_plan)
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully, then re-raises the captured Ctrl-C; that is our exit.
        pass
    finally:
        sock.close()
