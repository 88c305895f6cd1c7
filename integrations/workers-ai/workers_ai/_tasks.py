"""Request bodies and typed results for the Workers AI tasks beyond chat and embeddings.

Pure and I/O-free: the clients' task helpers build a payload here, send it with ``run`` (which
returns the envelope's ``result`` for JSON answers and the body as ``bytes`` for binary ones) and
parse the answer here. Field names and encodings follow each model's input schema in
Cloudflare's docs (``src/content/workers-ai-models/*.json``).

Audio encoding, by model:
- ``@cf/openai/whisper-large-v3-turbo`` takes only JSON, with the audio as a base64 string.
- The older whisper models (``@cf/openai/whisper``, ``whisper-tiny-en``) take the audio either as
  the raw request body or as ``{"audio": [byte values]}``. We send the raw body: the 2024 API spec
  lists only that form for them, and the JSON list costs up to four characters per byte.
- Any other speech model gets the base64 form, the convention of Cloudflare's newer models.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, TypeGuard

from pydantic import Field

from workers_ai.errors import InvalidRequestError, UnexpectedResponseError
from workers_ai.types import _Model


class Word(_Model):
    """One transcribed word and where it sits in the recording, in seconds."""

    word: str
    start: float
    end: float


class Segment(_Model):
    """A stretch of a transcription (whisper-large-v3-turbo answers in segments)."""

    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)


class Transcription(_Model):
    """A speech-recognition answer, whichever whisper shape it came in."""

    text: str
    word_count: int
    """As the server reported it, else the number of whitespace-separated words in ``text``."""
    words: list[Word] = Field(default_factory=list)
    """Every word in order: the top-level list, or the segments' words when there is none."""
    segments: list[Segment] = Field(default_factory=list)
    language: str | None = None
    vtt: str | None = None


class Classification(_Model):
    """One label and its score, as text and image classifiers answer."""

    label: str
    score: float


# -- payloads ----------------------------------------------------------------------------------


def image_payload(prompt: str, **options: Any) -> dict[str, Any]:
    """``{"prompt", ...options}`` for a text-to-image model; ``None`` options are left out.

    ``image`` and ``mask`` may be given as ``bytes``: the schemas want lists of byte values.
    """
    payload: dict[str, Any] = {"prompt": prompt}
    for key, value in options.items():
        if value is not None:
            payload[key] = list(value) if isinstance(value, bytes | bytearray) else value
    return payload


def sends_base64_audio(model: str) -> bool:
    """Whether ``model`` wants ``{"audio": "<base64>"}`` rather than the raw audio body."""
    return "whisper" not in model or "large-v3-turbo" in model


def transcription_payload(model: str, audio: bytes, **options: Any) -> dict[str, Any] | bytes:
    """The body of a speech-recognition request (see the module docstring for the choice).

    ``options`` (``task``, ``language``, ``vad_filter``, ``initial_prompt``, ``prefix``) need a
    JSON body; ``None`` options are left out.
    """
    given = {k: v for k, v in options.items() if v is not None}
    if sends_base64_audio(model):
        return {"audio": base64.b64encode(audio).decode("ascii"), **given}
    if given:
        raise InvalidRequestError(
            f"{model} takes only the audio; it has no options such as {', '.join(sorted(given))}."
        )
    return audio


def classification_payload(text: str) -> dict[str, Any]:
    return {"text": text}


def translation_payload(
    text: str, target_lang: str, source_lang: str | None = None
) -> dict[str, Any]:
    """m2m100's body; without ``source_lang`` the model assumes English."""
    payload = {"text": text, "target_lang": target_lang}
    if source_lang is not None:
        payload["source_lang"] = source_lang
    return payload


def summary_payload(text: str, max_length: int | None = None) -> dict[str, Any]:
    """A summarization model's body (bart-large-cnn's schema); ``max_length`` is in tokens."""
    payload: dict[str, Any] = {"input_text": text}
    if max_length is not None:
        payload["max_length"] = max_length
    return payload


# -- results -----------------------------------------------------------------------------------


def image_bytes(result: bytes | Mapping[str, Any]) -> bytes:
    """The image of a text-to-image answer.

    Stable Diffusion models answer with the image itself (``image/png``); flux answers JSON
    ``{"image": "<base64>"}``.
    """
    if isinstance(result, bytes):
        if not result:
            raise UnexpectedResponseError("Expected image bytes, got an empty body.")
        return result
    encoded = result.get("image") if isinstance(result, Mapping) else None
    if not isinstance(encoded, str) or not encoded:
        raise UnexpectedResponseError(
            "Expected image bytes or an object with a base64 'image' string, "
            f"got {_describe(result)}."
        )
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise UnexpectedResponseError("The answer's 'image' is not valid base64.") from None


def parse_transcription(result: Any) -> Transcription:
    """Either whisper shape: ``{text, word_count?, words?, vtt?}`` or turbo's
    ``{text, word_count?, segments?, transcription_info?, vtt?}``."""
    body = _object(result, "a transcription object with a 'text' string")
    text = _string(body, "text", "a transcription")
    segments = [_segment(s, i) for i, s in enumerate(_list(body.get("segments"), "segments"))]
    words = [_word(w, f"words/{i}") for i, w in enumerate(_list(body.get("words"), "words"))]
    if not words:
        words = [w for s in segments for w in s.words]
    count = body.get("word_count")
    info = body.get("transcription_info")
    language = info.get("language") if isinstance(info, Mapping) else None
    vtt = body.get("vtt")
    return Transcription(
        text=text,
        word_count=int(count) if _is_number(count) else len(text.split()),
        words=words,
        segments=segments,
        language=language if isinstance(language, str) else None,
        vtt=vtt if isinstance(vtt, str) else None,
    )


def parse_classifications(result: Any) -> list[Classification]:
    """``[{"label", "score"}, ...]`` in the order the server sent them."""
    if not isinstance(result, list):
        raise UnexpectedResponseError(
            f"Expected a list of {{label, score}} objects, got {_describe(result)}."
        )
    out: list[Classification] = []
    for i, item in enumerate(result):
        entry = _object(item, f"a {{label, score}} object at index {i}")
        score = entry.get("score")
        if not _is_number(score):
            raise UnexpectedResponseError(f"Expected a number 'score' at index {i}.")
        out.append(Classification(label=_string(entry, "label", f"index {i}"), score=float(score)))
    return out


def parse_translation(result: Any) -> str:
    return _string(_object(result, "an object with 'translated_text'"), "translated_text", "")


def parse_summary(result: Any) -> str:
    return _string(_object(result, "an object with 'summary'"), "summary", "")


def _segment(raw: Any, index: int) -> Segment:
    where = f"segments/{index}"
    body = _object(raw, f"a segment object at '{where}'")
    words = [_word(w, f"{where}/words/{i}") for i, w in enumerate(_list(body.get("words"), where))]
    return Segment(
        start=_number(body, "start", where),
        end=_number(body, "end", where),
        text=_string(body, "text", where),
        words=words,
    )


def _word(raw: Any, where: str) -> Word:
    body = _object(raw, f"a word object at '{where}'")
    return Word(
        word=_string(body, "word", where),
        start=_number(body, "start", where),
        end=_number(body, "end", where),
    )


def _object(value: Any, expected: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UnexpectedResponseError(f"Expected {expected}, got {_describe(value)}.")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnexpectedResponseError(f"Expected '{name}' to be a list, got {_describe(value)}.")
    return value


def _string(body: Mapping[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        place = f" in {where}" if where else ""
        raise UnexpectedResponseError(f"Expected a string '{key}'{place}, got {_describe(value)}.")
    return value


def _number(body: Mapping[str, Any], key: str, where: str) -> float:
    value = body.get(key)
    if not _is_number(value):
        raise UnexpectedResponseError(
            f"Expected a number '{key}' in {where}, got {_describe(value)}."
        )
    return float(value)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    if isinstance(value, Mapping):
        return f"an object with keys {sorted(map(str, value))}"
    return type(value).__name__ if value is not None else "nothing"
