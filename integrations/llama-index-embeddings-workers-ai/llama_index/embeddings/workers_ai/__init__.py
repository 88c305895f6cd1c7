"""Cloudflare Workers AI embedding models for LlamaIndex."""

from llama_index.embeddings.workers_ai.base import WorkersAIEmbedding

__all__ = ["WorkersAIEmbedding"]
