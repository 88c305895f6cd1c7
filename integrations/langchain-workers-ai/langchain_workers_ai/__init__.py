"""Cloudflare Workers AI for LangChain: ``ChatWorkersAI`` and ``WorkersAIEmbeddings``."""

from .chat_models import ChatWorkersAI
from .embeddings import WorkersAIEmbeddings

__all__ = ["ChatWorkersAI", "WorkersAIEmbeddings"]
