"""Every LangChain test in this tier talks to the local server, configured the way a user would:
through the environment variables the README tells them to set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from workers_ai_local import LocalServer


@pytest.fixture(autouse=True)
def _local_server_env(local_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WORKERS_AI_BASE_URL", local_server.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", local_server.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", local_server.token)
    for name in ("CF_ACCOUNT_ID", "CF_API_TOKEN", "WORKERS_AI_GATEWAY_ID"):
        monkeypatch.delenv(name, raising=False)
    yield
