"""langchain-tests integration suites against the local server's echo backend, one class per
result family (the suites are configured in tests/standard/langchain/integration.py).

Configuration comes from the environment (see conftest.py), as it would for a user. The echo
backend answers "Echo: <last user text>", forces tool calls it is asked to make and builds their
arguments from the schema and the numbers in the prompt, and fills JSON-mode answers from the
schema; the tier's xfails are the few things it cannot do that a real model can.
"""

from __future__ import annotations

from tests.standard.langchain.integration import (
    FAMILIES,
    ChatSuite,
    EmbeddingsSuite,
    Tier,
    Xfail,
)

ECHO = Tier(
    "echo",
    xfails={
        "test_json_mode": Xfail(
            "the echo backend cannot follow a JSON shape described only in the prompt's prose "
            "(json_mode sends no schema, so it answers {'echo': ...}); a real Workers AI model can"
        ),
    },
)


class TestLegacyFamily(ChatSuite):
    tier = ECHO
    family = FAMILIES["legacy"]


class TestScoutFamily(ChatSuite):
    tier = ECHO
    family = FAMILIES["scout"]


class TestOpenAIFamily(ChatSuite):
    tier = ECHO
    family = FAMILIES["openai"]


class TestResponsesFamily(ChatSuite):
    tier = ECHO
    family = FAMILIES["responses"]


class TestReasoningModel(ChatSuite):
    tier = ECHO
    family = FAMILIES["reasoning"]


class TestEmbeddings(EmbeddingsSuite):
    tier = ECHO


class TestEmbeddingsQwen(EmbeddingsSuite):
    """qwen3-embedding takes 32 texts per request, not 100."""

    tier = ECHO
    embedding_model = "@cf/qwen/qwen3-embedding-0.6b"
