"""The token estimate: on the high side of real BPE vocabularies and of the echo server's count,
and consistent between ``token_pieces`` and the counts built on it."""

from __future__ import annotations

import base64
import json
import math
import os
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers_ai._tokens import (
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    REQUEST_OVERHEAD,
    TOOL_OVERHEAD,
    TOOLS_PREAMBLE,
    estimate_message_tokens,
    estimate_prompt_tokens,
    estimate_text_tokens,
    estimate_tools_tokens,
    token_pieces,
)
from workers_ai_local.echo import count_tokens as echo_count_tokens

_RANDOM = random.Random(7)

# Text of the kinds people send, in several scripts; each must be estimated at or above what
# the cl100k (GPT-4, near Llama 3's) and o200k (gpt-oss, GPT-4o) vocabularies count.
VARIED_TEXTS: dict[str, str] = {
    "greeting": "Hello, world! How are you doing today?",
    "short-words": "The quick brown fox jumps over the lazy dog. " * 5,
    "prose": (
        "Workers AI allows you to run machine learning models, on the Cloudflare network, from "
        "your own code -- whether that be from Workers, Pages, or anywhere via the Cloudflare "
        "API. This enables you to build and deploy ambitious AI applications that run near "
        "your users, wherever they are."
    ),
    "code": (
        "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n"
        "    return fibonacci(n - 1) + fibonacci(n - 2)\n\n\nclass HTTPServerError(Exception):\n"
        "    pass\n"
    ),
    "json": json.dumps(
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
                    "required": ["location"],
                },
            },
        }
    ),
    "markdown": "| Model | Context |\n|---|---|\n| llama-3.3-70b | 24000 |\n\n## Notes\n\n- one\n",
    "url": "https://developers.cloudflare.com/workers-ai/models/llama-4-scout/?utm=x&y=1#top",
    "numbers": "1234567890 3.14159265358979 2024-01-15T10:30:00Z 42 -17 0.5 100000",
    "base64": base64.b64encode(_RANDOM.randbytes(300)).decode(),
    "hex": _RANDOM.randbytes(64).hex(),
    "uuids": " ".join(str(uuid.UUID(int=_RANDOM.getrandbits(128))) for _ in range(10)),
    "camel-case": "getCurrentWeather parseJSONResponse XMLHttpRequest myVariableName",
    "long-words": "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "capitals": "IMPORTANT: READ THE TERMS AND CONDITIONS BEFORE USING THE API",
    "punctuation": "!!!???...,,,;;;:::---___===+++***&&&^^^%%%$$$###@@@",
    "whitespace": "   indented    with     lots      of       spaces   \n\n\n\nand\n\n\nlines\n",
    "accents": "Café naïve résumé façade über straße Ærøskøbing",
    "russian": "Привет, как дела? Модели машинного обучения работают в глобальной сети.",
    "greek-hebrew-arabic": "καλημέρα κόσμε שלום עולם مرحبا بالعالم",
    "chinese": "你好，世界！今天天气很好，我们去公园散步吧。机器学习模型在全球网络上运行。",  # noqa: RUF001
    "japanese": "こんにちは、元気ですか？東京は今日晴れです。カタカナのテキスト。",  # noqa: RUF001
    "hindi": "नमस्ते, आप कैसे हैं? मशीन लर्निंग मॉडल वैश्विक नेटवर्क पर चलते हैं।",
    "emoji": "Emoji test 🎉🚀👍🏽 done ✅ 😀😃😄😁😆😅🤣😂🙂🙃",
    "single-letters": "a b c d e f g h i j k l m n o p",
    "trailing-space": "ends with a space ",
}


@pytest.fixture(scope="module")
def bpe_counters() -> Iterator[dict[str, Callable[[str], int]]]:
    """cl100k and o200k, from the BPE files llama-index-core ships (no download)."""
    tiktoken = pytest.importorskip("tiktoken")
    import llama_index.core

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    counters: dict[str, Callable[[str], int]] = {}
    try:
        for name in ("cl100k_base", "o200k_base"):
            try:
                encoding = tiktoken.get_encoding(name)
            except Exception:  # not bundled: it would need a download
                continue
            counters[name] = lambda text, e=encoding: len(e.encode(text, allowed_special="all"))
    finally:
        if previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous
    if not counters:
        pytest.skip("no BPE vocabulary available offline")
    yield counters


@pytest.mark.parametrize("kind", sorted(VARIED_TEXTS))
def test_the_estimate_is_at_least_what_real_bpe_vocabularies_count(
    kind: str, bpe_counters: dict[str, Callable[[str], int]]
) -> None:
    text = VARIED_TEXTS[kind]
    estimate = estimate_text_tokens(text)
    for name, count in bpe_counters.items():
        assert estimate >= count(text), (name, kind)


def test_english_prose_is_not_wildly_overestimated(
    bpe_counters: dict[str, Callable[[str], int]],
) -> None:
    for kind in ("greeting", "short-words", "prose", "code", "json"):
        text = VARIED_TEXTS[kind]
        assert estimate_text_tokens(text) <= 2 * max(c(text) for c in bpe_counters.values())


@given(st.text())
@settings(max_examples=300)
def test_the_estimate_is_at_least_the_echo_servers_count(text: str) -> None:
    assert estimate_text_tokens(text) >= echo_count_tokens(text)


@given(st.text())
@settings(max_examples=300)
def test_pieces_are_the_estimate_and_never_fewer_than_a_token_per_3_5_characters(
    text: str,
) -> None:
    pieces = token_pieces(text)
    assert len(pieces) == estimate_text_tokens(text)
    assert all(isinstance(p, str) and p for p in pieces)
    assert len(pieces) >= math.ceil(len(text) / 3.5)


@given(st.text(), st.text())
@settings(max_examples=200)
def test_more_text_never_counts_fewer_tokens_when_joined_by_a_newline(a: str, b: str) -> None:
    joined = estimate_text_tokens(f"{a}\n{b}")
    assert joined >= max(estimate_text_tokens(a), estimate_text_tokens(b))


def test_empty_text_is_no_tokens() -> None:
    assert token_pieces("") == []
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens(" ") == 1


def test_pieces_cut_words_numbers_and_symbols() -> None:
    assert token_pieces("Hello, world!") == ["Hello", ",", "world", "!"]
    assert len(token_pieces("1234567")) == 3  # digits three at a time
    assert len(token_pieces("🎉")) == 3
    assert len(token_pieces("你好")) == 4


# -- messages, images, tool calls and tool schemas ------------------------------------------------


def test_a_message_is_its_content_plus_overhead() -> None:
    message = {"role": "user", "content": "Hello, world!"}
    assert estimate_message_tokens(message) == MESSAGE_OVERHEAD + 4
    assert estimate_prompt_tokens([message]) == REQUEST_OVERHEAD + MESSAGE_OVERHEAD + 4
    assert estimate_prompt_tokens([]) == REQUEST_OVERHEAD


def test_images_count_a_fixed_large_amount() -> None:
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "Hello, world!"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 5000}},
        ],
    }
    assert estimate_message_tokens(message) == MESSAGE_OVERHEAD + 4 + IMAGE_TOKENS


def test_tool_calls_ids_and_names_count() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    plain = {"role": "assistant", "content": ""}
    with_call = {"role": "assistant", "content": "", "tool_calls": [call]}
    assert estimate_message_tokens(with_call) > estimate_message_tokens(plain) + TOOL_OVERHEAD
    result = {"role": "tool", "content": "18C", "tool_call_id": "call_1", "name": "get_weather"}
    assert estimate_message_tokens(result) > estimate_message_tokens(
        {"role": "tool", "content": "18C"}
    )


def test_tool_schemas_count_with_a_preamble() -> None:
    tool: dict[str, Any] = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    one = estimate_tools_tokens([tool])
    assert one == TOOLS_PREAMBLE + TOOL_OVERHEAD + estimate_text_tokens(json.dumps(tool))
    assert estimate_tools_tokens([tool, tool]) == 2 * one - TOOLS_PREAMBLE
    assert estimate_tools_tokens([]) == 0
    messages = [{"role": "user", "content": "hi"}]
    assert estimate_prompt_tokens(messages, [tool]) == estimate_prompt_tokens(messages) + one


@given(st.lists(st.sampled_from(sorted(VARIED_TEXTS)), max_size=6))
def test_a_longer_conversation_never_counts_fewer_tokens(kinds: list[str]) -> None:
    messages = [{"role": "user", "content": VARIED_TEXTS[k]} for k in kinds]
    counts = [estimate_prompt_tokens(messages[:i]) for i in range(len(messages) + 1)]
    assert counts == sorted(counts)
