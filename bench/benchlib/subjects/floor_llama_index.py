"""Framework floor for LlamaIndex: the raw-httpx floor in the thinnest LlamaIndex LLM (its
``chat`` methods decorated as LlamaIndex requires), to show what LlamaIndex itself costs per
call. Handles only what the benchmark sends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.callbacks import llm_chat_callback
from llama_index.core.llms.custom import CustomLLM
from pydantic import PrivateAttr

from benchlib.subjects.floor_raw import RawFloor


class BareLlamaIndexChat(CustomLLM):
    """A LlamaIndex LLM whose decorated ``chat`` methods are only the floor's requests."""

    _raw: RawFloor = PrivateAttr()

    def __init__(self, url: str, token: str, max_tokens: int) -> None:
        super().__init__()
        self._raw = RawFloor(url, token, max_tokens)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True, model_name="bare-httpx")

    @staticmethod
    def _texts(messages: Sequence[ChatMessage]) -> list[str]:
        return [m.content or "" for m in messages]

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = self._raw.chat(self._texts(messages))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        pieces = self._raw.stream(self._texts(messages))

        def gen() -> ChatResponseGen:
            content = ""
            for piece in pieces:
                content += piece
                message = ChatMessage(role=MessageRole.ASSISTANT, content=content)
                yield ChatResponse(message=message, delta=piece)

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = await self._raw.achat(self._texts(messages))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise NotImplementedError("the benchmark only chats")

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        raise NotImplementedError("the benchmark only chats")

    def close(self) -> None:
        self._raw.close()

    async def aclose(self) -> None:
        await self._raw.aclose()
