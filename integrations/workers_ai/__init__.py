"""The Workers AI REST core: typed sync and async clients on httpx.

from workers_ai import WorkersAI
with WorkersAI() as client:
    print(client.chat("@cf/meta/llama-3.1-8b-instruct", prompt="Hello").text)
"""

from ._models import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL
from ._request import ChatOptions
from .client import AsyncWorkersAI, WorkersAI
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
    UnexpectedResponseError,
    WorkersAIError,
)
from .types import (
    ChatChunk,
    ChatResult,
    EmbeddingResult,
    Message,
    ModelInfo,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncWorkersAI",
    "AuthenticationError",
    "BadRequestError",
    "ChatChunk",
    "ChatOptions",
    "ChatResult",
    "ConfigurationError",
    "EmbeddingResult",
    "InvalidRequestError",
    "Message",
    "ModelInfo",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "ToolCall",
    "ToolCallDelta",
    "UnexpectedResponseError",
    "Usage",
    "WorkersAI",
    "WorkersAIError",
]
