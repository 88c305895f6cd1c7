"""Fixtures shared by every test tier.

``local_server`` (session) runs the local Workers AI server in-process on a free loopback port
with the echo backend. The object it yields is a ``workers_ai_local.LocalServer``:

- ``base_url``     ``http://127.0.0.1:PORT/client/v4`` (the ``WORKERS_AI_BASE_URL`` value)
- ``gateway_url``  ``http://127.0.0.1:PORT/v1`` (stands in for ``https://gateway.ai.cloudflare.com/v1``)
- ``root_url``, ``token``, ``account_id`` (``"test-account"``)
- ``inject(kind, **fields)`` queue a fault, e.g. ``inject("rate_limit", count=2, retry_after=0)``
- ``requests()`` the logged requests (method, path, query, headers, body, status, ...)
- ``reset()`` clear pending faults and the request log

``server`` (function scope) is the same object, reset before and after each test: use it
whenever a test injects faults or reads the request log.

``model_server`` (session) is a second local server whose backend is the real SmolLM2-135M
model (the ``llama`` backend); tests that use it skip when llama-cpp-python is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from workers_ai_local import LocalServer

TEST_TOKEN = "local-test-token"
TEST_ACCOUNT_ID = "test-account"


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    # Imported here so that tiers which never start the server do not need starlette/uvicorn.
    from workers_ai_local import LocalServer

    server = LocalServer(port=0, token=TEST_TOKEN, account_id=TEST_ACCOUNT_ID).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(local_server: LocalServer) -> Iterator[LocalServer]:
    local_server.reset()
    yield local_server
    local_server.reset()


@pytest.fixture(scope="session")
def model_server() -> Iterator[LocalServer]:
    from workers_ai_local import LocalServer
    from workers_ai_local.registry import BackendUnavailable, make_backend

    try:
        backend = make_backend("llama")
    except BackendUnavailable as error:
        pytest.skip(str(error))
    server = LocalServer(port=0, token=TEST_TOKEN, account_id=TEST_ACCOUNT_ID, backend=backend)
    server.start()
    try:
        yield server
    finally:
        server.stop()
