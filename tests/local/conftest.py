"""Fixtures of the local tier's HTTP-level server tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from workers_ai_local import LocalServer


@pytest.fixture
def http(server: LocalServer) -> Iterator[httpx.Client]:
    """Raw httpx to the local server's root, with its bearer token."""
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.root_url, headers=headers, timeout=10) as client:
        yield client
