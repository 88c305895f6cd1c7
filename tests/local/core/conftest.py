"""Clients pointed at the local server (the ``server`` fixture comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from workers_ai import AsyncWorkersAI, WorkersAI
from workers_ai._retry import RetryPolicy

# Short backoff so retry tests stay fast; the decision logic is the production one.
FAST_RETRIES = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)


def connect(server: Any, **overrides: Any) -> dict[str, Any]:
    options = {
        "account_id": server.account_id,
        "api_token": server.token,
        "base_url": server.base_url,
        "gateway_url": server.gateway_url,
    }
    options.update(overrides)
    return options


@pytest.fixture
def client(server: Any) -> Iterator[WorkersAI]:
    with WorkersAI(**connect(server)) as c:
        c._retry = FAST_RETRIES
        yield c


@pytest.fixture
async def aclient(server: Any) -> AsyncIterator[AsyncWorkersAI]:
    async with AsyncWorkersAI(**connect(server)) as c:
        c._retry = FAST_RETRIES
        yield c
