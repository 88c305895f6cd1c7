"""The Workers AI REST core: typed sync and async clients on httpx.

from workers_ai import WorkersAI
with WorkersAI() as client:
    print(client.chat("@cf/meta/llama-3.3-70b-instruct-fp8-fast", prompt="Hello").text)
"""

from typing import TYPE_CHECKING, Any

from ._catalog import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    Deprecation,
    ModelSpec,
    Reasoning,
    model_spec,
)
from ._chat_options import ChatOptions, json_response_format
from ._gateway import GatewayOptions
from ._ratelimit import RateLimiter
from ._tasks import Classification, Segment, Transcription, Word
from ._tokens import estimate_prompt_tokens, estimate_text_tokens, token_pieces
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchTimeoutError,
    ConfigurationError,
    ContextWindowExceededError,
    InvalidRequestError,
    ModelDeprecatedError,
    NotFoundError,
    PaidPlanRequiredError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
    UnexpectedResponseError,
    WorkersAIError,
)
from .types import (
    BatchItem,
    BatchStatus,
    ChatChunk,
    ChatResult,
    EmbeddingResult,
    Message,
    ModelInfo,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    from .client import AsyncWorkersAI, WorkersAI


def __getattr__(name: str) -> Any:
    # The clients bring httpx (the largest part of our import time where its CLI's click, rich
    # and pygments are installed; bench/RESULTS.md): they load when first named, so an
    # adapter's import costs only what it uses.
    if name in ("WorkersAI", "AsyncWorkersAI"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})  # completion in Jupyter lists the clients too


__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncWorkersAI",
    "AuthenticationError",
    "BadRequestError",
    "BatchItem",
    "BatchStatus",
    "BatchTimeoutError",
    "ChatChunk",
    "ChatOptions",
    "ChatResult",
    "Classification",
    "ConfigurationError",
    "ContextWindowExceededError",
    "Deprecation",
    "EmbeddingResult",
    "GatewayOptions",
    "InvalidRequestError",
    "Message",
    "ModelDeprecatedError",
    "ModelInfo",
    "ModelSpec",
    "NotFoundError",
    "PaidPlanRequiredError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimiter",
    "Reasoning",
    "Segment",
    "ServerError",
    "StreamError",
    "ToolCall",
    "ToolCallDelta",
    "Transcription",
    "UnexpectedResponseError",
    "Usage",
    "Word",
    "WorkersAI",
    "WorkersAIError",
    "estimate_prompt_tokens",
    "estimate_text_tokens",
    "json_response_format",
    "model_spec",
    "token_pieces",
]
