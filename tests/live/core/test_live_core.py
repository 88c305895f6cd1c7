"""The core client against real Cloudflare: skipped without credentials, and built by
``cloudflare`` (tests/live/conftest.py), so it reaches Cloudflare's API whatever
WORKERS_AI_BASE_URL says."""

from __future__ import annotations

import json

import pytest

from tests.live.conftest import Cloudflare
from workers_ai import NotFoundError, WorkersAI

LEGACY = "@cf/meta/llama-3.1-8b-instruct-fp8"
OPENAI = "@cf/qwen/qwen3-30b-a3b-fp8"
EMBED = "@cf/baai/bge-base-en-v1.5"


@pytest.fixture
def client(cloudflare: Cloudflare) -> WorkersAI:
    return cloudflare.client()


@pytest.mark.parametrize("model", [LEGACY, OPENAI])
def test_chat_and_stream(client: WorkersAI, model: str) -> None:
    result = client.chat(model, [{"role": "user", "content": "Say hello."}], max_tokens=30)
    assert result.text and result.usage is not None and result.usage.prompt_tokens > 0
    chunks = list(
        client.stream_chat(model, [{"role": "user", "content": "Say hi."}], max_tokens=20)
    )
    assert "".join(c.text for c in chunks)
    assert [c.usage is not None for c in chunks].count(True) <= 1


def test_json_mode(client: WorkersAI) -> None:
    schema = {
        "type": "object",
        "properties": {"capital": {"type": "string"}},
        "required": ["capital"],
    }
    result = client.chat(
        LEGACY,
        [{"role": "user", "content": "What is the capital of France? Answer in JSON."}],
        response_format={"type": "json_schema", "json_schema": schema},
    )
    assert "capital" in json.loads(result.text)


def test_embed_models_and_errors(client: WorkersAI) -> None:
    result = client.embed(EMBED, [f"text {i}" for i in range(120)])
    assert len(result.vectors) == 120 and result.dims == 768
    assert any(m.name == EMBED for m in client.models(task="Text Embeddings"))
    with pytest.raises(NotFoundError):
        client.chat("@cf/nobody/no-such-model", prompt="hi")


async def test_async_chat(cloudflare: Cloudflare) -> None:
    async with cloudflare.async_client() as client:
        assert (await client.chat(LEGACY, prompt="Say hello.", max_tokens=10)).text
