"""The local server's pure parts (echo rules, stream shaping, catalog), without any I/O."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers_ai_local.backends import (
    Finish,
    GenerationRequest,
    JsonFormat,
    Message,
    NamedTool,
    TextPiece,
    ToolSpec,
)
from workers_ai_local.catalog import SearchQuery, search, served_catalog
from workers_ai_local.echo import EchoBackend, hashed_vector, split_tokens, value_for_schema
from workers_ai_local.faults import Fault, FaultBook, apply_to_frames, malformed, parse_fault
from workers_ai_local.streams import (
    legacy_events,
    random_padding,
    regroup_writes,
    split_fragments,
    sse_frame,
)
from workers_ai_local.wire import collect


def request(text: str, max_tokens: int = 256, **kw: Any) -> GenerationRequest:
    model = "@cf/meta/llama-3.1-8b-instruct-fp8"
    return GenerationRequest(model, (Message("user", text),), max_tokens, **kw)


@given(st.text())
def test_split_tokens_round_trips(text: str) -> None:
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    assert len(pieces) == (len(text.split()) or (1 if text else 0))


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=12))
def test_regroup_writes_preserves_bytes(frames: list[bytes]) -> None:
    assert b"".join(regroup_writes(frames)) == b"".join(frames)


def test_regroup_writes_joins_and_splits() -> None:
    frames = [sse_frame({"response": str(i)}) for i in range(6)]
    writes = list(regroup_writes(frames))
    assert frames[0] + frames[1] in writes
    assert any(not w.endswith(b"\n\n") for w in writes)


@given(st.text(), st.integers(min_value=1, max_value=5))
def test_split_fragments(text: str, parts: int) -> None:
    pieces = split_fragments(text, parts)
    assert "".join(pieces) == text and len(pieces) <= max(parts, 1)


def test_echo_usage_and_events() -> None:
    events = list(EchoBackend().generate(request("a b c", max_tokens=3)))
    assert [e.text for e in events if isinstance(e, TextPiece)] == ["Echo:", " a", " b"]
    assert [e.usage.completion_tokens for e in events] == [1, 2, 3, 3]
    final = events[-1]
    assert isinstance(final, Finish) and final.reason == "length"
    assert final.usage.prompt_tokens == 3 and final.usage.total_tokens == 6
    assert collect(iter(events)).text == "Echo: a b"


def test_echo_tool_choice_rules() -> None:
    tools = (
        ToolSpec(
            "magic_function",
            "",
            {"type": "object", "properties": {"input": {"type": "integer"}}, "required": ["input"]},
        ),
        ToolSpec("getCurrentTime", "", {}),
    )
    backend = EchoBackend()

    def calls(text: str, **kw: Any) -> list[tuple[str, Any]]:
        done = collect(backend.generate(request(text, tools=tools, **kw)))
        return [(c.name, dict(c.arguments)) for c in done.tool_calls]

    assert calls("What is the value of magic_function(3)? Use the tool.") == [
        ("magic_function", {"input": 3})
    ]
    assert calls("what time is it") == [("getCurrentTime", {})]  # camelCase word "time"
    assert calls("hello") == []
    assert calls("hello", tool_choice="required") == [("magic_function", {"input": 0})]
    assert calls("magic", tool_choice=NamedTool("getCurrentTime")) == [("getCurrentTime", {})]
    assert calls("magic", tool_choice="none") == []
    assert calls("magic", response_format=JsonFormat(None)) == []  # JSON mode beats auto


def test_value_for_schema_handles_refs_unions_and_enums() -> None:
    schema = {
        "$defs": {
            "Joke": {
                "type": "object",
                "properties": {"setup": {"type": "string"}},
                "required": ["setup"],
            }
        },
        "type": "object",
        "properties": {
            "joke": {"$ref": "#/$defs/Joke"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "number"}]},
            "kind": {"enum": ["pun", "other"]},
            "flag": {"type": ["boolean", "null"]},
            "const": {"const": 7},
            "skipped": {"type": "string"},
        },
        "required": ["joke", "maybe", "kind", "flag", "const"],
    }
    assert value_for_schema(schema, "rated 4.5 stars") == {
        "joke": {"setup": "rated 4.5 stars"},
        "maybe": 4.5,
        "kind": "pun",
        "flag": False,
        "const": 7,
    }


def test_hashed_vectors() -> None:
    a, b = (hashed_vector(t, 64) for t in ("red apple", "red apple"))
    assert a == b and math.isclose(sum(x * x for x in a), 1.0)
    assert len(hashed_vector("", 64)) == 64


def test_legacy_events_pad_tokens_and_end_with_usage() -> None:
    events = list(
        legacy_events(EchoBackend().generate(request("x")), random_padding(random.Random(1)))
    )
    assert events[0] == {"response": "", "p": "heartbeat"}
    assert all(e["p"] for e in events[1:-1])
    assert events[-1] == {
        "response": "",
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


def test_catalog_search_pages_and_filters() -> None:
    entries = served_catalog()
    names = [e.name for e in entries]
    assert names == sorted(names) and len(names) == len(set(names))
    items, info = search(entries, SearchQuery(page=2, per_page=4, task="TEXT GENERATION"))
    assert info["page"] == 2 and info["count"] == len(items) == 4
    assert all(i["task"]["name"] == "Text Generation" for i in items)
    _, none = search(entries, SearchQuery(page=99, per_page=4))
    assert none["count"] == 0 and none["total_count"] == len(entries)


def test_stream_fault_transforms() -> None:
    frames = [sse_frame({"n": i}) for i in range(4)]
    assert list(apply_to_frames(None, iter(frames))) == frames
    assert list(apply_to_frames(Fault("cut_stream", after=2), iter(frames))) == frames[:2]
    bad = list(apply_to_frames(Fault("malformed_event", at=1), iter(frames)))
    assert bad[0] == frames[0] and bad[2:] == frames[2:]
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad[1].decode()[6:])
    assert malformed(frames[0]).startswith(b"data: ")


def test_fault_book_counts_and_scopes() -> None:
    book = FaultBook()
    book.add(parse_fault({"kind": "rate_limit", "count": 2}))
    book.add(parse_fault({"kind": "quota", "scope": "models"}))
    assert book.take("models") == Fault("quota", scope="models")
    taken = [book.take("data") for _ in range(3)]
    assert [f.kind if f else None for f in taken] == ["rate_limit", "rate_limit", None]
    assert book.pending() == []
