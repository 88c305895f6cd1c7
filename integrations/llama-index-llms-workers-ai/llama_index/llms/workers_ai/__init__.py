"""Cloudflare Workers AI chat models for LlamaIndex."""

from llama_index.llms.workers_ai.base import WorkersAI

__all__ = ["WorkersAI"]
