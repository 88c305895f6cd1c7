"""LazyClients: one pool per object, rebuilt when settings change, fresh pools for copies; and
the connection check every adapter runs at construction."""

from __future__ import annotations

import asyncio
import copy

import pytest

from workers_ai import ConfigurationError
from workers_ai._clients import ClientSettings, LazyClients, check_connection
from workers_ai._gateway import GatewayOptions

SETTINGS = ClientSettings(account_id="a")


def test_sync_client_is_reused_and_rebuilt_on_change() -> None:
    clients = LazyClients()
    first = clients.sync(SETTINGS)
    assert clients.sync(SETTINGS) is first
    assert clients.sync(ClientSettings(account_id="b")) is not first


def test_copies_get_pools_of_their_own() -> None:
    clients = LazyClients()
    first = clients.sync(SETTINGS)
    assert copy.deepcopy(clients).sync(SETTINGS) is not first
    assert copy.copy(clients).sync(SETTINGS) is not first


def test_one_async_client_per_event_loop() -> None:
    clients = LazyClients()

    async def get() -> object:
        client = clients.async_(SETTINGS)
        assert clients.async_(SETTINGS) is client
        return client

    assert asyncio.run(get()) is not asyncio.run(get())


def test_pickled_clients_open_their_own_pools() -> None:
    import pickle

    clients = LazyClients()
    first = clients.sync(SETTINGS)
    assert pickle.loads(pickle.dumps(clients)).sync(SETTINGS) is not first


def test_the_construction_check_refuses_what_the_first_client_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("WORKERS_AI_BASE_URL", "WORKERS_AI_GATEWAY_URL", "WORKERS_AI_GATEWAY_ID"):
        monkeypatch.delenv(name, raising=False)
    check_connection("http://127.0.0.1:8787/client/v4", None, None)  # loopback: fine
    with pytest.raises(ConfigurationError, match="plain http to a non-loopback host"):
        check_connection("http://example.com/client/v4", None, None)
    monkeypatch.setenv("WORKERS_AI_BASE_URL", "ftp://example.com")
    with pytest.raises(ConfigurationError, match="base_url must be an http"):
        check_connection(None, None, None)  # the environment's URL, when no argument
    monkeypatch.delenv("WORKERS_AI_BASE_URL")
    monkeypatch.setenv("WORKERS_AI_GATEWAY_URL", "http://gateway.example.com/v1")
    with pytest.raises(ConfigurationError, match="gateway_url"):
        check_connection(None, None, None)
    monkeypatch.delenv("WORKERS_AI_GATEWAY_URL")
    cached = GatewayOptions(cache_ttl=60)
    with pytest.raises(ConfigurationError, match="need a gateway"):
        check_connection(None, None, cached)
    check_connection(None, "my-gateway", cached)
    monkeypatch.setenv("WORKERS_AI_GATEWAY_ID", "from-env")
    check_connection(None, None, cached)  # the environment's gateway counts too
