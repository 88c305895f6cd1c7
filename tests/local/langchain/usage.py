"""What langchain-tests' ``invoke_with_cache_read_input`` hook asks for, shared by our suites."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_workers_ai import ChatWorkersAI


def answer_with_usage(llm: ChatWorkersAI, *, stream: bool) -> AIMessage:
    """One answer to "Hello", invoked, or streamed and aggregated (usage is on one chunk)."""
    if not stream:
        return llm.invoke("Hello")
    total: AIMessageChunk | None = None
    for chunk in llm.stream("Hello"):
        total = chunk if total is None else total + chunk
    assert total is not None
    return AIMessage(content=total.content, usage_metadata=total.usage_metadata)
