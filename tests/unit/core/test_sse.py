"""Our SSE data decoder against httpx-sse's, on any stream split anywhere."""

from __future__ import annotations

import itertools

import httpx
from httpx_sse import EventSource
from hypothesis import given, settings
from hypothesis import strategies as st

from workers_ai._sse import SSEDataDecoder


def reference(body: bytes) -> list[str]:
    """httpx-sse's events' data (events without data carry nothing we read)."""
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    return [e.data for e in EventSource(response).iter_sse() if e.data]


def ours(pieces: list[bytes]) -> list[str]:
    decoder = SSEDataDecoder()
    return [data for piece in pieces for data in decoder.feed(piece) if data]


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    bounds = [0, *points, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]


lines = st.one_of(
    st.builds(
        lambda v: b"data: " + v,
        st.binary(max_size=12).filter(lambda b: b"\n" not in b and b"\r" not in b),
    ),
    st.sampled_from(
        [
            b"data:",
            b"data:x",
            b"data:  two spaces",
            b": comment",
            b"event: e",
            b"id: 1",
            b"retry: 5",
            b"nocolon",
            b"",
            b"data: \xc3\xa9t\xc3\xa9",
            b"data: \xff",
        ]
    ),
)
endings = st.sampled_from([b"\n", b"\r\n", b"\r"])
streams = st.lists(st.tuples(lines, endings), max_size=12).map(
    lambda pairs: b"".join(line + end for line, end in pairs)
)


@settings(max_examples=300, deadline=None)
@given(body=streams, cuts=st.lists(st.integers(0, 400), max_size=8))
def test_same_data_as_httpx_sse_however_the_bytes_arrive(body: bytes, cuts: list[int]) -> None:
    assert ours(split(body, cuts)) == reference(body)


def test_the_one_event_per_read_fast_path_and_the_general_path_agree() -> None:
    body = b'data: {"response":"a"}\n\ndata: {"response":"b"}\n\ndata: [DONE]\n\n'
    whole = ours([body])
    one_per_read = ours([body[:24], body[24:48], body[48:]])
    byte_by_byte = ours([body[i : i + 1] for i in range(len(body))])
    assert (
        whole == one_per_read == byte_by_byte == ['{"response":"a"}', '{"response":"b"}', "[DONE]"]
    )


def test_a_crlf_split_between_reads_is_one_line_end() -> None:
    decoder = SSEDataDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []  # the LF of the CRLF: not a blank line
    assert decoder.feed(b"\r\n") == ["a"]


def test_multi_line_data_and_an_unfinished_event() -> None:
    decoder = SSEDataDecoder()
    assert decoder.feed(b"data: one\ndata: two\n\ndata: cut") == ["one\ntwo"]
    assert decoder.feed(b" off") == []  # never dispatched: the stream ended mid-event
