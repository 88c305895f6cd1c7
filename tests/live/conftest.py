"""Live tier: real Cloudflare, only when credentials are in the environment.

The rule, decided here and nowhere else: a live test reaches Cloudflare's API or skips.

- Without an account id and a token (CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN, or
  CF_ACCOUNT_ID and CF_API_TOKEN) every test under tests/live is skipped, whatever else is set.
- With them, the autouse ``cloudflare`` fixture points the environment at Cloudflare: it sets
  WORKERS_AI_BASE_URL to https://api.cloudflare.com/client/v4 and removes the AI Gateway
  variables, so a shell set up for the local server (or anything else) still reaches Cloudflare.
  The ``Cloudflare`` it yields builds core clients, and gives ``connection()`` to pass to the
  framework classes, with that base URL passed explicitly.

tests/unit/test_live_rule.py proves both halves without a network call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from workers_ai import AsyncWorkersAI, WorkersAI

CLOUDFLARE_API_URL = "https://api.cloudflare.com/client/v4"
ACCOUNT_ID_ENV = ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID")
API_TOKEN_ENV = ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN")
# Whatever could send a client elsewhere: another API server, or an AI Gateway (its URL too).
ENDPOINT_ENV = (
    "WORKERS_AI_BASE_URL",
    "WORKERS_AI_GATEWAY_ID",
    "WORKERS_AI_GATEWAY_URL",
    "WORKERS_AI_GATEWAY_TOKEN",
)
SKIP_REASON = (
    "live tier: needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (or CF_ACCOUNT_ID and "
    "CF_API_TOKEN); WORKERS_AI_BASE_URL does not count, live tests only go to Cloudflare"
)


@dataclass(frozen=True)
class Cloudflare:
    """The account a live test runs on, always at Cloudflare's API."""

    account_id: str
    api_token: str
    base_url: str = CLOUDFLARE_API_URL

    def connection(self) -> dict[str, Any]:
        """Keyword arguments that send any of our clients to this account at Cloudflare."""
        return {
            "base_url": self.base_url,
            "account_id": self.account_id,
            "api_token": self.api_token,
        }

    def client(self, **options: Any) -> WorkersAI:
        return WorkersAI(**{**self.connection(), **options})

    def async_client(self, **options: Any) -> AsyncWorkersAI:
        return AsyncWorkersAI(**{**self.connection(), **options})


def _first(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def live_account(environ: Mapping[str, str] | None = None) -> Cloudflare | None:
    """The Cloudflare account in the environment, or None (then live tests skip)."""
    env = os.environ if environ is None else environ
    account_id, api_token = _first(ACCOUNT_ID_ENV, env), _first(API_TOKEN_ENV, env)
    if account_id is None or api_token is None:
        return None
    return Cloudflare(account_id=account_id, api_token=api_token)


def use_cloudflare(monkeypatch: pytest.MonkeyPatch) -> Cloudflare:
    """Skip without credentials; otherwise point the environment at Cloudflare's API (what the
    ``cloudflare`` fixture does, callable on its own for tests/unit/test_live_rule.py)."""
    account = live_account()
    if account is None:
        pytest.skip(SKIP_REASON)
    for name in ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORKERS_AI_BASE_URL", account.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", account.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", account.api_token)
    return account


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's hook sees every collected item, not only its directory's.
    skip = pytest.mark.skip(reason=SKIP_REASON) if live_account() is None else None
    for item in items:
        if "tests/live/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.live)
            if skip is not None:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def cloudflare(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloudflare]:
    """Every live test's account at Cloudflare (autouse: no live test can go elsewhere)."""
    yield use_cloudflare(monkeypatch)
