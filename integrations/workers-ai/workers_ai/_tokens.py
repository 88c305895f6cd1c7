"""A dependency-free estimate of how many tokens a Workers AI chat request's prompt takes.

Workers AI does not expose its models' tokenizers, and the real ones (Llama 3/4, Qwen, Mistral,
Gemma, gpt-oss) would need downloads. This estimate is meant for trimming a conversation to a
model's context window before sending it, so it errs on the high side: trimming to it is safe,
at the cost of sometimes dropping a message that would have fitted. Measured against the
cl100k and o200k vocabularies (Llama 3 and gpt-oss class) it runs about 1.4-1.8x on English
prose, 1.4-1.6x on code and JSON, 1.1-1.2x on hashes, UUIDs and base64 and 1.5-2.5x on other
scripts; against older SentencePiece vocabularies (Llama 2, Mistral 7B, Hermes 2 Pro) it is
nearer exact on short-worded English, so leave those some margin.

How text is counted (``token_pieces``), never under a token per 3.5 characters:

- a word of ASCII letters is one token up to 6 letters, then one more per 3 letters; runs of
  capitals count a token per 2 letters;
- digits count a token per 3 (Llama 3 and gpt-oss split numbers exactly so), and a space
  before a number is a token of its own;
- a run of letters and digits that looks random (8 characters or more mixing letters and
  digits, or switching case often, or with few vowels: ids, hashes, base64) counts at least a
  token per 4/3 characters;
- every other ASCII character (punctuation, symbols) is a token of its own;
- whitespace: a single space or tab is free (it joins the next word), a lone newline is a
  token, longer runs count a token per 4 characters;
- other characters: accented Latin and Cyrillic letters one token each; other two-byte UTF-8
  characters (Greek, Hebrew, Arabic, ...) and three-byte ones (CJK, Indic scripts, ...) two;
  characters beyond the Basic Multilingual Plane (most emoji) three.

A message adds ``MESSAGE_OVERHEAD`` for its role and template markers, a request adds
``REQUEST_OVERHEAD`` (start of text and the assistant header the template opens), an image
``IMAGE_TOKENS`` (Llama 4 cuts a large image into up to 16 tiles of 144 tokens plus one for
the whole), and tool schemas count as their JSON text plus ``TOOL_OVERHEAD`` each and one
``TOOLS_PREAMBLE`` for the instructions chat templates wrap around them.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MESSAGE_OVERHEAD = 8
REQUEST_OVERHEAD = 16
IMAGE_TOKENS = 2500
TOOL_OVERHEAD = 10
TOOLS_PREAMBLE = 100

_SPAN = re.compile(
    r"""
      [A-Za-z0-9]+      # a word, number or identifier
    | \ (?=[0-9])       # a space before a number
    | [^\x00-\x7f]      # one non-ASCII character
    | \s{2,4}           # a whitespace run
    | \n                # a lone newline
    | [^\sA-Za-z0-9]    # one punctuation mark or symbol
    """,
    re.VERBOSE,
)
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_VOWELS = frozenset("aeiouyAEIOUY")
_WORD_LETTERS = 6  # letters of a word that one token covers
_CHARS_PER_TOKEN = 3.5  # the count never goes under one token per this many characters
_RANDOM_MIN_LENGTH = 8


def _segment_tokens(segment: str) -> int:
    if segment.isdigit():
        return math.ceil(len(segment) / 3)
    if segment.isupper():
        return math.ceil(len(segment) / 2)
    return 1 + math.ceil(max(0, len(segment) - _WORD_LETTERS) / 3)


def _looks_random(run: str) -> bool:
    if len(run) < _RANDOM_MIN_LENGTH:
        return False
    letters = [c for c in run if c.isalpha()]
    if len(letters) < len(run):
        return bool(letters)  # letters and digits mixed
    case_switches = sum(a.islower() != b.islower() for a, b in itertools.pairwise(run))
    vowels = sum(c in _VOWELS for c in run)
    return case_switches * 5 >= len(run) * 2 or vowels * 3 < len(run)


def _alnum_tokens(run: str) -> int:
    count = sum(_segment_tokens(m.group()) for m in _SEGMENT.finditer(run))
    if _looks_random(run):
        count = max(count, math.ceil(len(run) * 3 / 4))
    return count


def _char_tokens(char: str) -> int:
    code = ord(char)
    if code > 0xFFFF:
        return 3
    if code >= 0x800:
        return 2
    return 1 if code < 0x250 or 0x400 <= code < 0x530 else 2


def _split(run: str, count: int) -> list[str]:
    """``run`` cut into ``count`` pieces of near-equal length (``count <= len(run)``)."""
    bounds = [round(i * len(run) / count) for i in range(count + 1)]
    return [run[a:b] for a, b in itertools.pairwise(bounds)]


def token_pieces(text: str) -> list[str]:
    """``text`` cut into pieces, one per estimated token (a character counted more than once
    appears that many times).

    ``len(token_pieces(text))`` is ``estimate_text_tokens(text)``, so this also serves where a
    tokenizer function returning a list is expected (LlamaIndex's ``tokenizer_fn``).
    """
    pieces: list[str] = []
    for match in _SPAN.finditer(text):
        span = match.group()
        if span.isascii() and span.isalnum():
            pieces.extend(_split(span, _alnum_tokens(span)))
        elif len(span) == 1 and not span.isascii():
            pieces.extend([span] * _char_tokens(span))
        else:
            pieces.append(span)
    floor = math.ceil(len(text) / _CHARS_PER_TOKEN)
    if len(pieces) >= floor:
        return pieces
    if not pieces:
        return [text]  # single spaces only
    return _split_longest(pieces, floor)


def _split_longest(pieces: list[str], count: int) -> list[str]:
    """``pieces`` cut further, the longest parts first, until there are ``count`` (or every
    piece is down to single characters)."""
    parts = [1] * len(pieces)
    heap: list[tuple[float, int]] = [(-len(p), i) for i, p in enumerate(pieces) if len(p) > 1]
    heapq.heapify(heap)
    missing = count - len(pieces)
    while missing > 0 and heap:
        _, i = heapq.heappop(heap)
        parts[i] += 1
        missing -= 1
        if parts[i] < len(pieces[i]):
            heapq.heappush(heap, (-len(pieces[i]) / parts[i], i))
    return [part for p, n in zip(pieces, parts, strict=True) for part in _split(p, n)]


def estimate_text_tokens(text: str) -> int:
    """An estimate, on the high side, of the tokens ``text`` takes (no message overhead)."""
    return len(token_pieces(text))


def _content_tokens(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return estimate_text_tokens(content)
    total = 0
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            total += estimate_text_tokens(part)
        elif isinstance(part, Mapping):
            if part.get("type") in ("image_url", "image", "input_image"):
                total += IMAGE_TOKENS
            elif isinstance(part.get("text"), str):
                total += estimate_text_tokens(part["text"])
            else:
                total += _json_tokens(part)
        else:
            total += estimate_text_tokens(str(part))
    return total


def _json_tokens(value: Any) -> int:
    return estimate_text_tokens(json.dumps(value, ensure_ascii=False, default=str))


def _tool_call_tokens(call: Any) -> int:
    if not isinstance(call, Mapping):
        return TOOL_OVERHEAD + _json_tokens(call)
    function = call.get("function")
    function = function if isinstance(function, Mapping) else call
    name = function.get("name")
    arguments = function.get("arguments")
    total = TOOL_OVERHEAD + estimate_text_tokens(name if isinstance(name, str) else "")
    if isinstance(arguments, str):
        total += estimate_text_tokens(arguments)
    elif arguments is not None:
        total += _json_tokens(arguments)
    call_id = call.get("id")
    if isinstance(call_id, str):
        total += estimate_text_tokens(call_id)
    return total


def estimate_message_tokens(message: Mapping[str, Any]) -> int:
    """One wire message (``{"role", "content", "tool_calls"?, "tool_call_id"?, "name"?}``):
    its content, images, tool calls and ids, plus ``MESSAGE_OVERHEAD``."""
    total = MESSAGE_OVERHEAD + _content_tokens(message.get("content"))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        total += sum(_tool_call_tokens(call) for call in calls)
    for key in ("tool_call_id", "name"):
        value = message.get(key)
        if isinstance(value, str):
            total += estimate_text_tokens(value)
    return total


def estimate_tools_tokens(tools: Iterable[Any]) -> int:
    """Tool schemas as they are sent (any JSON-able form): their JSON text, ``TOOL_OVERHEAD``
    each, and ``TOOLS_PREAMBLE`` once when there is at least one."""
    counts = [TOOL_OVERHEAD + _json_tokens(tool) for tool in tools]
    return TOOLS_PREAMBLE + sum(counts) if counts else 0


def estimate_prompt_tokens(
    messages: Sequence[Mapping[str, Any]], tools: Iterable[Any] | None = None
) -> int:
    """An estimate, on the high side, of the prompt tokens a chat request with these wire
    messages (and tool schemas) takes: what to compare with a model's context window, less the
    tokens to be generated."""
    total = REQUEST_OVERHEAD + sum(estimate_message_tokens(m) for m in messages)
    return total + estimate_tools_tokens(tools or ())
