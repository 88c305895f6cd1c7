"""Task payload builders and result parsers (workers_ai._tasks): pure, no I/O."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from workers_ai._tasks import (
    Classification,
    Segment,
    Transcription,
    Word,
    classification_payload,
    image_bytes,
    image_payload,
    parse_classifications,
    parse_summary,
    parse_transcription,
    parse_translation,
    sends_base64_audio,
    summary_payload,
    transcription_payload,
    translation_payload,
)
from workers_ai.errors import InvalidRequestError, UnexpectedResponseError

WHISPER = "@cf/openai/whisper"
TINY = "@cf/openai/whisper-tiny-en"
TURBO = "@cf/openai/whisper-large-v3-turbo"
PNG = b"\x89PNG\r\n\x1a\n rest of the file"


# -- payloads ----------------------------------------------------------------------------------


def test_image_payload_drops_none_and_lists_bytes() -> None:
    payload = image_payload(
        "a cat", seed=7, negative_prompt=None, image=b"\x00\xff", mask=bytearray(b"\x01")
    )
    assert payload == {"prompt": "a cat", "seed": 7, "image": [0, 255], "mask": [1]}
    assert image_payload("x") == {"prompt": "x"}


def test_audio_encoding_by_model() -> None:
    assert not sends_base64_audio(WHISPER) and not sends_base64_audio(TINY)
    assert sends_base64_audio(TURBO)
    assert sends_base64_audio("@cf/some-vendor/new-speech-model")


def test_older_whisper_gets_the_raw_body() -> None:
    assert transcription_payload(WHISPER, b"hello") == b"hello"
    assert transcription_payload(TINY, b"\x00\x01", language=None) == b"\x00\x01"


def test_older_whisper_refuses_options() -> None:
    with pytest.raises(InvalidRequestError, match="language"):
        transcription_payload(WHISPER, b"hello", language="fr")


def test_turbo_gets_base64_json_with_options() -> None:
    payload = transcription_payload(TURBO, b"hello", language="fr", prefix=None, vad_filter=True)
    assert payload == {"audio": "aGVsbG8=", "language": "fr", "vad_filter": True}


def test_text_task_payloads() -> None:
    assert classification_payload("nice") == {"text": "nice"}
    assert translation_payload("hi", "fr") == {"text": "hi", "target_lang": "fr"}
    assert translation_payload("hi", "fr", "de") == {
        "text": "hi",
        "target_lang": "fr",
        "source_lang": "de",
    }
    assert summary_payload("long text") == {"input_text": "long text"}
    assert summary_payload("long text", 20) == {"input_text": "long text", "max_length": 20}


# -- images ------------------------------------------------------------------------------------


def test_image_bytes_from_a_binary_answer() -> None:
    assert image_bytes(PNG) == PNG


def test_image_bytes_from_flux_base64() -> None:
    assert image_bytes({"image": base64.b64encode(PNG).decode()}) == PNG


@pytest.mark.parametrize(
    ("result", "match"),
    [
        (b"", "empty body"),
        ({}, "base64 'image' string"),
        ({"image": 3}, "base64 'image' string"),
        ({"image": "not base64!"}, "not valid base64"),
        ([1, 2], "base64 'image' string"),
    ],
)
def test_image_bytes_rejects_other_shapes(result: Any, match: str) -> None:
    with pytest.raises(UnexpectedResponseError, match=match):
        image_bytes(result)


# -- transcriptions ----------------------------------------------------------------------------


def test_whisper_transcription() -> None:
    result = {
        "text": "hello world",
        "word_count": 2,
        "words": [
            {"word": "hello", "start": 0, "end": 0.4},
            {"word": "world", "start": 0.5, "end": 0.9},
        ],
        "vtt": "WEBVTT\n\n",
    }
    assert parse_transcription(result) == Transcription(
        text="hello world",
        word_count=2,
        words=[Word(word="hello", start=0, end=0.4), Word(word="world", start=0.5, end=0.9)],
        vtt="WEBVTT\n\n",
    )


def test_turbo_transcription_flattens_segment_words() -> None:
    word = {"word": "hi", "start": 0.0, "end": 0.4}
    result = {
        "text": "hi",
        "segments": [{"start": 0, "end": 0.4, "text": "hi", "temperature": 0, "words": [word]}],
        "transcription_info": {"language": "fr", "language_probability": 0.9, "duration": 0.4},
    }
    parsed = parse_transcription(result)
    assert parsed.language == "fr" and parsed.vtt is None
    assert parsed.word_count == 1  # counted from the text when the server does not say
    assert parsed.words == [Word(word="hi", start=0.0, end=0.4)]
    assert parsed.segments == [Segment(start=0, end=0.4, text="hi", words=parsed.words)]


def test_minimal_transcription() -> None:
    assert parse_transcription({"text": ""}) == Transcription(text="", word_count=0)


@pytest.mark.parametrize(
    ("result", "match"),
    [
        ("hello", "transcription object"),
        ({"words": []}, "string 'text'"),
        ({"text": "a", "words": {}}, "'words' to be a list"),
        ({"text": "a", "words": [{"word": "a", "start": "0", "end": 1}]}, "number 'start'"),
        ({"text": "a", "segments": [{"start": 0, "end": 1}]}, "string 'text' in segments/0"),
        ({"text": "a", "segments": ["x"]}, "segment object"),
    ],
)
def test_transcription_rejects_bad_shapes(result: Any, match: str) -> None:
    with pytest.raises(UnexpectedResponseError, match=match):
        parse_transcription(result)


# -- classifications and text results ---------------------------------------------------------


def test_classifications_keep_order() -> None:
    result = [{"label": "NEGATIVE", "score": 0.1}, {"label": "POSITIVE", "score": 1}]
    assert parse_classifications(result) == [
        Classification(label="NEGATIVE", score=0.1),
        Classification(label="POSITIVE", score=1.0),
    ]
    assert parse_classifications([]) == []


@pytest.mark.parametrize(
    ("result", "match"),
    [
        ({"label": "x", "score": 1}, "list of"),
        (["x"], "object at index 0"),
        ([{"label": "x", "score": "high"}], "number 'score' at index 0"),
        ([{"label": "x", "score": True}], "number 'score'"),
        ([{"score": 0.5}], "string 'label' in index 0"),
    ],
)
def test_classifications_reject_bad_shapes(result: Any, match: str) -> None:
    with pytest.raises(UnexpectedResponseError, match=match):
        parse_classifications(result)


def test_translation_and_summary() -> None:
    assert parse_translation({"translated_text": "bonjour"}) == "bonjour"
    assert parse_summary({"summary": "short"}) == "short"
    with pytest.raises(UnexpectedResponseError, match="'translated_text'"):
        parse_translation({"text": "bonjour"})
    with pytest.raises(UnexpectedResponseError, match="'summary'"):
        parse_summary(["short"])


def test_results_are_frozen() -> None:
    item = Classification(label="x", score=0.5)
    with pytest.raises(ValueError, match="frozen"):
        item.label = "y"  # type: ignore[misc]
