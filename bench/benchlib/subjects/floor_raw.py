"""The floor's requests (raw httpx, one pooled client) for the framework floors
(``floor_langchain.py``, ``floor_llama_index.py``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from httpx_sse import EventSource, aconnect_sse


def event_text(data: str) -> str:
    """An event's text. Streams are read on past [DONE] to the end of the body, as the core
    client and the peers read them: that keeps the connection in the pool."""
    if not data or data == "[DONE]":
        return ""
    return str(json.loads(data).get("response") or "")


class RawFloor:
    """The floor's requests: one pooled sync client, one async client (made on first use)."""

    def __init__(self, url: str, token: str, max_tokens: int) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.max_tokens = max_tokens
        self.sync = httpx.Client(headers=self.headers)
        self.aclient: httpx.AsyncClient | None = None

    def body(self, texts: list[str], stream: bool = False) -> dict[str, Any]:
        messages = [{"role": "user", "content": text} for text in texts]
        body: dict[str, Any] = {"messages": messages, "max_tokens": self.max_tokens}
        if stream:
            body["stream"] = True
        return body

    def chat(self, texts: list[str]) -> str:
        response = self.sync.post(self.url, json=self.body(texts))
        response.raise_for_status()
        return str(response.json()["result"]["response"])

    def stream(self, texts: list[str]) -> Iterator[str]:
        with self.sync.stream("POST", self.url, json=self.body(texts, True)) as response:
            response.raise_for_status()
            for event in EventSource(response).iter_sse():
                if piece := event_text(event.data):
                    yield piece

    async def achat(self, texts: list[str]) -> str:
        if self.aclient is None:
            self.aclient = httpx.AsyncClient(headers=self.headers)
        response = await self.aclient.post(self.url, json=self.body(texts))
        response.raise_for_status()
        return str(response.json()["result"]["response"])

    async def astream(self, texts: list[str]) -> AsyncIterator[str]:
        if self.aclient is None:
            self.aclient = httpx.AsyncClient(headers=self.headers)
        body = self.body(texts, True)
        async with aconnect_sse(self.aclient, "POST", self.url, json=body) as source:
            async for event in source.aiter_sse():
                if piece := event_text(event.data):
                    yield piece

    def close(self) -> None:
        self.sync.close()

    async def aclose(self) -> None:
        if self.aclient is not None:
            await self.aclient.aclose()
