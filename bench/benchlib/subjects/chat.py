"""The chat subjects: the floor, ours and the peers, behind one small driver interface.

A driver builds the user-facing object once (``construct``, also what the cold-start figure
times) and then makes the calls the figures need: a whole answer, a stream of text deltas, an
async whole answer. Each framework is imported only when its driver is built, so a process
that measures one subject pays for one subject's imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from benchlib.server.process import Endpoint

MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # the native (legacy-shaped) reply
MAX_TOKENS = 4096  # room for the 2,000-token streamed answer; the echo server has no cap
Kind = Literal["floor", "ours", "peer"]


class ChatDriver:
    """One subject's object and the calls made on it; subclasses fill in the four methods."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.obj: Any = self.construct()

    def construct(self) -> Any:
        raise NotImplementedError

    def invoke(self, text: str) -> str:
        raise NotImplementedError

    def stream(self, text: str) -> Iterator[str]:
        raise NotImplementedError

    async def ainvoke(self, text: str) -> str:
        raise NotImplementedError

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class FloorChat(ChatDriver):
    """Raw httpx with one pooled client: post + json parse; httpx-sse for streams (the same
    requests as the framework floors, ``floor_raw.RawFloor``)."""

    def construct(self) -> Any:
        from benchlib.subjects.floor_raw import RawFloor

        return RawFloor(self.endpoint.run_url(MODEL), self.endpoint.token, MAX_TOKENS)

    def invoke(self, text: str) -> str:
        return str(self.obj.chat([text]))

    def stream(self, text: str) -> Iterator[str]:
        pieces: Iterator[str] = self.obj.stream([text])  # no wrapper generator per token
        return pieces

    async def ainvoke(self, text: str) -> str:
        return str(await self.obj.achat([text]))

    def close(self) -> None:
        self.obj.close()

    async def aclose(self) -> None:
        await self.obj.aclose()


class CoreChat(ChatDriver):
    """``workers_ai.WorkersAI`` (sync) and ``AsyncWorkersAI`` (async)."""

    def construct(self) -> Any:
        from workers_ai import WorkersAI

        self.aobj: Any = None
        return WorkersAI(**self._kwargs())

    def _kwargs(self) -> dict[str, Any]:
        ep = self.endpoint
        return {"account_id": ep.account_id, "api_token": ep.token, "base_url": ep.base_url}

    def invoke(self, text: str) -> str:
        messages = [{"role": "user", "content": text}]
        return str(self.obj.chat(MODEL, messages, max_tokens=MAX_TOKENS).text)

    def stream(self, text: str) -> Iterator[str]:
        messages = [{"role": "user", "content": text}]
        for chunk in self.obj.stream_chat(MODEL, messages, max_tokens=MAX_TOKENS):
            if chunk.text:
                yield chunk.text

    async def ainvoke(self, text: str) -> str:
        if self.aobj is None:
            from workers_ai import AsyncWorkersAI

            self.aobj = AsyncWorkersAI(**self._kwargs())
        messages = [{"role": "user", "content": text}]
        answer = await self.aobj.chat(MODEL, messages, max_tokens=MAX_TOKENS)
        return str(answer.text)

    def close(self) -> None:
        self.obj.close()

    async def aclose(self) -> None:
        if self.aobj is not None:
            await self.aobj.aclose()


class LangChainDriver(ChatDriver):
    """Any LangChain chat model: ``invoke``, ``stream`` and ``ainvoke`` with a string."""

    def invoke(self, text: str) -> str:
        return str(self.obj.invoke(text).content)

    def stream(self, text: str) -> Iterator[str]:
        for chunk in self.obj.stream(text):
            if chunk.content:
                yield str(chunk.content)

    async def ainvoke(self, text: str) -> str:
        return str((await self.obj.ainvoke(text)).content)

    def close(self) -> None:
        self.obj.close()

    async def aclose(self) -> None:
        await self.obj.aclose()


class FloorLangChain(LangChainDriver):
    """The floor inside the thinnest LangChain chat model (what LangChain itself costs)."""

    def construct(self) -> Any:
        from benchlib.subjects.floor_langchain import BareLangChainChat

        return BareLangChainChat(self.endpoint.run_url(MODEL), self.endpoint.token, MAX_TOKENS)


class OursLangChain(LangChainDriver):
    def construct(self) -> Any:
        from langchain_workers_ai import ChatWorkersAI

        ep = self.endpoint
        return ChatWorkersAI(
            model=MODEL,
            max_tokens=MAX_TOKENS,
            account_id=ep.account_id,
            api_token=ep.token,
            base_url=ep.base_url,
        )


class LlamaIndexDriver(ChatDriver):
    """Any LlamaIndex LLM: ``chat``, ``stream_chat`` and ``achat`` with one user message."""

    @staticmethod
    def _messages(text: str) -> list[Any]:
        from llama_index.core.base.llms.types import ChatMessage

        return [ChatMessage(role="user", content=text)]

    def invoke(self, text: str) -> str:
        return str(self.obj.chat(self._messages(text)).message.content)

    def stream(self, text: str) -> Iterator[str]:
        for response in self.obj.stream_chat(self._messages(text)):
            if response.delta:
                yield response.delta

    async def ainvoke(self, text: str) -> str:
        return str((await self.obj.achat(self._messages(text))).message.content)

    def close(self) -> None:
        self.obj.close()

    async def aclose(self) -> None:
        await self.obj.aclose()


class FloorLlamaIndex(LlamaIndexDriver):
    """The floor inside the thinnest LlamaIndex LLM (what LlamaIndex itself costs)."""

    def construct(self) -> Any:
        from benchlib.subjects.floor_llama_index import BareLlamaIndexChat

        return BareLlamaIndexChat(self.endpoint.run_url(MODEL), self.endpoint.token, MAX_TOKENS)


class OursLlamaIndex(LlamaIndexDriver):
    def construct(self) -> Any:
        from llama_index.llms.workers_ai import WorkersAI

        ep = self.endpoint
        return WorkersAI(
            model=MODEL,
            max_tokens=MAX_TOKENS,
            account_id=ep.account_id,
            api_token=ep.token,
            base_url=ep.base_url,
        )


class PeerCloudflare(LangChainDriver):
    """langchain-cloudflare ``ChatCloudflareWorkersAI``, pointed by its ``base_url`` field."""

    def construct(self) -> Any:
        from langchain_cloudflare import ChatCloudflareWorkersAI

        ep = self.endpoint
        return ChatCloudflareWorkersAI(
            model=MODEL,
            max_tokens=MAX_TOKENS,
            account_id=ep.account_id,
            api_token=ep.token,
            base_url=ep.base_url,
        )

    def close(self) -> None:
        self.obj.client.close()

    async def aclose(self) -> None:
        await self.obj.async_client.aclose()


class PeerOpenAI(LangChainDriver):
    """langchain-openai ``ChatOpenAI`` on the OpenAI-compatible ``/ai/v1`` path."""

    def construct(self) -> Any:
        from langchain_openai import ChatOpenAI

        ep = self.endpoint
        return ChatOpenAI(
            model=MODEL,
            max_tokens=MAX_TOKENS,
            base_url=ep.openai_url,
            api_key=ep.token,
        )

    def close(self) -> None:
        self.obj.root_client.close()

    async def aclose(self) -> None:
        await self.obj.root_async_client.close()


@dataclass(frozen=True)
class ChatSubject:
    key: str
    label: str
    kind: Kind
    package: str  # the distribution whose version is reported
    module: str  # what the cold-start figure imports
    how: str  # how it is pointed at the local server
    driver: Callable[[Endpoint], ChatDriver]


CHAT_SUBJECTS: tuple[ChatSubject, ...] = (
    ChatSubject(
        "floor",
        "floor: httpx",
        "floor",
        "httpx",
        "httpx",
        "pooled httpx.Client, POST /ai/run/{model} + .json(); httpx-sse for streams",
        FloorChat,
    ),
    ChatSubject(
        "lc_floor",
        "floor: httpx in a bare LangChain model",
        "floor",
        "langchain-core",
        "benchlib.subjects.floor_langchain",
        "the floor's requests inside a minimal BaseChatModel (floor_langchain.py)",
        FloorLangChain,
    ),
    ChatSubject(
        "li_floor",
        "floor: httpx in a bare LlamaIndex LLM",
        "floor",
        "llama-index-core",
        "benchlib.subjects.floor_llama_index",
        "the floor's requests inside a minimal CustomLLM (floor_llama_index.py)",
        FloorLlamaIndex,
    ),
    ChatSubject(
        "core",
        "core WorkersAI",
        "ours",
        "workers-ai",
        "workers_ai",
        "base_url=",
        CoreChat,
    ),
    ChatSubject(
        "lc_ours",
        "ChatWorkersAI",
        "ours",
        "langchain-workers-ai",
        "langchain_workers_ai",
        "base_url=",
        OursLangChain,
    ),
    ChatSubject(
        "li_ours",
        "LlamaIndex WorkersAI",
        "ours",
        "llama-index-llms-workers-ai",
        "llama_index.llms.workers_ai",
        "base_url=",
        OursLlamaIndex,
    ),
    ChatSubject(
        "lc_cloudflare",
        "ChatCloudflareWorkersAI",
        "peer",
        "langchain-cloudflare",
        "langchain_cloudflare",
        "base_url= (alias cloudflare_api_base), native /ai/run",
        PeerCloudflare,
    ),
    ChatSubject(
        "lc_openai",
        "ChatOpenAI (/ai/v1)",
        "peer",
        "langchain-openai",
        "langchain_openai",
        "base_url=<server>/client/v4/accounts/<id>/ai/v1",
        PeerOpenAI,
    ),
)


def chat_subject(key: str) -> ChatSubject:
    for subject in CHAT_SUBJECTS:
        if subject.key == key:
            return subject
    raise KeyError(key)
