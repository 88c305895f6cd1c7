"""Framework floor for LangChain: the raw-httpx floor in the thinnest LangChain chat model, to
show what LangChain itself costs per call, so that an adapter's ratio to the floor splits into
LangChain's share and the adapter's own. Handles only what the benchmark sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from benchlib.subjects.floor_raw import RawFloor


class BareLangChainChat(BaseChatModel):
    """A LangChain chat model that is only the floor's requests."""

    _raw: RawFloor = PrivateAttr()

    def __init__(self, url: str, token: str, max_tokens: int) -> None:
        super().__init__()
        self._raw = RawFloor(url, token, max_tokens)

    @property
    def _llm_type(self) -> str:
        return "bare-httpx"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self._raw.chat([m.text for m in messages])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in self._raw.stream([m.text for m in messages]):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = await self._raw.achat([m.text for m in messages])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def close(self) -> None:
        self._raw.close()

    async def aclose(self) -> None:
        await self._raw.aclose()
