"""langchain-tests integration suites against real Cloudflare Workers AI (the suites are
configured in tests/standard/langchain/integration.py).

Skipped without credentials, and pointed at Cloudflare's API whatever WORKERS_AI_BASE_URL or the
AI Gateway variables say (tests/live/conftest.py). No xfails: a real model can do everything
declared.
"""

from __future__ import annotations

from dataclasses import replace

from tests.live.conftest import CLOUDFLARE_API_URL
from tests.standard.langchain.integration import FAMILIES, ChatSuite, EmbeddingsSuite, Tier

LIVE = Tier("live", connection={"base_url": CLOUDFLARE_API_URL}, offline=False)


class TestLiveLegacyFamily(ChatSuite):
    tier = LIVE
    family = replace(
        FAMILIES["legacy"],
        override_model="@cf/meta/llama-3.1-8b-instruct-fast",
        options={"max_tokens": 512},
    )


class TestLiveOpenAIFamily(ChatSuite):
    tier = LIVE
    # qwen3 always reasons before it answers: 2048 tokens leave room for both. Its usage
    # details are not declared here (the local tiers check them; they have not been checked
    # against Cloudflare's answers).
    family = replace(FAMILIES["openai"], options={"max_tokens": 2048}, usage_details=())


class TestLiveEmbeddings(EmbeddingsSuite):
    tier = LIVE
