"""LazyClients: one pool per object, rebuilt when settings change, fresh pools for copies."""

from __future__ import annotations

import asyncio
import copy

from workers_ai._clients import ClientSettings, LazyClients

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
