"""Stream parsing, end to end through the client, with the bytes split at any boundary."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.core import recorded_streams as rec
from workers_ai import AsyncWorkersAI, ChatChunk, StreamError, WorkersAI
from workers_ai.client import _MAX_BYTES_AFTER_DONE
from workers_ai.streaming import StreamParser

MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8"


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for piece in self.pieces:
            yield piece


class CountedPieces(Pieces):
    """Pieces that count how many were read, and may end in a transport error."""

    def __init__(self, pieces: list[bytes], error: httpx.HTTPError | None = None) -> None:
        super().__init__(pieces)
        self.error = error
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.read += 1
            yield piece
        if self.error is not None:
            raise self.error

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for piece in self:
            yield piece


def sse(body: list[bytes] | Pieces) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream", "cf-ray": "r1"},
            stream=body if isinstance(body, Pieces) else Pieces(body),
        )

    return httpx.MockTransport(handler)


def collect(body: list[bytes] | Pieces) -> list[ChatChunk]:
    client = WorkersAI(account_id="a", api_token="t", http_client=httpx.Client(transport=sse(body)))
    return list(client.stream_chat(MODEL, prompt="hi"))


async def acollect(body: list[bytes] | Pieces) -> list[ChatChunk]:
    client = AsyncWorkersAI(
        account_id="a", api_token="t", http_client=httpx.AsyncClient(transport=sse(body))
    )
    return [chunk async for chunk in client.stream_chat(MODEL, prompt="hi")]


def collect_both(make_body: Callable[[], CountedPieces]) -> list[tuple[list[ChatChunk], int]]:
    """The chunks and the pieces read, from the sync client and from the async one."""
    sync_body, async_body = make_body(), make_body()
    return [
        (collect(sync_body), sync_body.read),
        (asyncio.run(acollect(async_body)), async_body.read),
    ]


def canonical(chunks: list[ChatChunk]) -> list[dict[str, object]]:
    """Chunks without the ids we generate for calls that arrived without one."""
    out = []
    for chunk in chunks:
        data = dataclasses.asdict(chunk)
        for delta in data["tool_calls"]:
            if delta["id"] and delta["id"].startswith("call_") and len(delta["id"]) == 29:
                delta["id"] = "<generated>"
        out.append(data)
    return out


def test_legacy_text_padding_heartbeats_and_usage_once() -> None:
    chunks = collect([rec.LEGACY_TEXT])
    assert [c.text for c in chunks] == ["New", " York", ""]
    assert [c.usage is not None for c in chunks] == [False, False, True]
    last = chunks[-1]
    assert last.is_last and last.model == MODEL and last.cf_ray == "r1"
    assert last.usage is not None and last.usage.total_tokens == 12


def test_legacy_whole_tool_call() -> None:
    chunks = collect([rec.LEGACY_TOOL])
    [delta] = [d for c in chunks for d in c.tool_calls]
    assert delta.index == 0 and delta.name == "add" and delta.id
    assert json.loads(delta.arguments) == {"a": 1, "b": 2}
    assert chunks[-1].finish_reason == "tool_calls"


def test_native_incremental_tool_call_skips_the_sentinel() -> None:
    deltas = [d for c in collect([rec.NATIVE_INCREMENTAL_TOOL]) for d in c.tool_calls]
    assert deltas[0].id == "call_1" and deltas[0].name == "get_weather"
    assert json.loads("".join(d.arguments for d in deltas)) == {"city": "Paris"}
    assert {d.index for d in deltas} == {0}


def test_openai_stream_reports_cumulative_usage_once() -> None:
    chunks = collect([rec.OPENAI_TEXT])
    assert "".join(c.text for c in chunks) == "AB"
    assert "".join(c.reasoning for c in chunks) == "hm"
    with_usage = [c for c in chunks if c.usage is not None]
    assert len(with_usage) == 1 and with_usage[0] is chunks[-1]
    assert with_usage[0].usage is not None
    assert with_usage[0].usage.completion_tokens == 3 and with_usage[0].usage.cached_tokens == 2
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].model == "@cf/qwen/qwen3-30b-a3b-fp8"


def test_openai_tool_call_fragments() -> None:
    chunks = collect([rec.OPENAI_TOOL])
    deltas = [d for c in chunks for d in c.tool_calls]
    assert deltas[0].id == "c9" and deltas[0].name == "magic_function"
    assert json.loads("".join(d.arguments for d in deltas)) == {"input": 3}
    assert chunks[-1].finish_reason == "tool_calls"


def test_a_stream_without_done_raises_and_says_how_much_arrived() -> None:
    with pytest.raises(StreamError, match=r"without \[DONE\] after \d+ events and 8 characters"):
        collect([rec.CUT])


def test_a_malformed_event_raises() -> None:
    with pytest.raises(StreamError, match="not JSON"):
        collect([rec.MALFORMED])


def test_a_json_answer_to_a_stream_request_is_one_chunk() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "result": {
                    "response": "whole",
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
                },
                "success": True,
                "errors": [],
            },
        )

    client = WorkersAI(
        account_id="a",
        api_token="t",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    [chunk] = list(client.stream_chat(MODEL, prompt="hi"))
    assert chunk.text == "whole" and chunk.is_last and chunk.usage is not None


# Reading what follows [DONE] is what gives the connection back to the pool (the local tests
# check the reuse); these are the cases a well-behaved server does not produce.
def test_what_follows_done_is_read_to_the_end_but_never_parsed() -> None:
    late = b'data: {"response":"late"}\n\n'
    for chunks, read in collect_both(lambda: CountedPieces([rec.LEGACY_TEXT, late, b": bye\n"])):
        assert canonical(chunks) == canonical(collect([rec.LEGACY_TEXT]))
        assert read == 3


def test_reading_after_done_gives_up_past_its_limit() -> None:
    junk = b"x" * (_MAX_BYTES_AFTER_DONE // 2 + 1)

    def body() -> CountedPieces:
        return CountedPieces([rec.LEGACY_TEXT] + [junk] * 10)

    for chunks, read in collect_both(body):
        assert [c.text for c in chunks] == ["New", " York", ""] and chunks[-1].is_last
        assert read == 3  # the answer, then two pieces: past the limit, the rest stays unread


def test_a_transport_error_after_done_loses_nothing() -> None:
    def body() -> CountedPieces:
        return CountedPieces([rec.LEGACY_TEXT], error=httpx.ReadError("connection lost"))

    for chunks, _ in collect_both(body):
        assert canonical(chunks) == canonical(collect([rec.LEGACY_TEXT]))


def test_parser_ignores_events_after_done() -> None:
    parser = StreamParser(MODEL)
    assert parser.feed("[DONE]") is not None and parser.done
    assert parser.feed('{"response":"late"}') is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(rec.ALL_COMPLETE)),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=40),
)
def test_any_byte_split_gives_the_same_chunks(name: str, cuts: list[int]) -> None:
    data = rec.ALL_COMPLETE[name]
    assert canonical(collect(split(data, cuts))) == canonical(collect([data]))


@settings(max_examples=20, deadline=None)
@given(
    name=st.sampled_from(sorted(rec.ALL_COMPLETE)),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=40),
)
async def test_any_byte_split_gives_the_same_chunks_async(name: str, cuts: list[int]) -> None:
    data = rec.ALL_COMPLETE[name]
    assert canonical(await acollect(split(data, cuts))) == canonical(collect([data]))
