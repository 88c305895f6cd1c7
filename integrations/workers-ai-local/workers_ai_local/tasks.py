"""Echo answers for the tasks beyond text generation and embeddings, in each model's wire shape.

They do not depend on the backend and are deterministic, so tests can predict them:

- Text-to-Image: a PNG 1/64 of the requested size (16x16 by default) painted from a hash of
  prompt and seed. Stable Diffusion models answer with the PNG itself (``image/png``); flux
  answers ``{"image": "<base64>"}``.
- Speech recognition: the audio bytes when they are printable UTF-8 text (send ``b"hello"`` and
  hear "hello"), else ``"[N bytes of audio]"``; words are half a second apart.
- Image classification: five ImageNet labels picked by a hash of the image, scores descending.
- Object detection: one to three COCO labels, boxes inside the image (its size when it is a
  PNG, else 640x480).
- Text classification: word-list sentiment. Translation: ``"[<target_lang>] <text>"``.
  (No summarization: the catalog's only such model, bart-large-cnn, was retired on 2026-05-30.)
- Image-to-Text: a description naming the image's size (PNG) or byte count, and the prompt.

Inputs are validated like Cloudflare's schemas (``src/content/workers-ai-models/*.json`` in
cloudflare-docs); failures are 5006 errors worded like :mod:`workers_ai_local.validate`'s.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, cast, get_args

from workers_ai._tasks import sends_base64_audio
from workers_ai_local.backends import Task
from workers_ai_local.errors import bad_input
from workers_ai_local.validate import (
    base64_bytes,
    byte_array,
    mismatch,
    nonempty_string,
    optional_bool,
    optional_number,
    optional_string,
    require,
)

Inputs: TypeAlias = Mapping[str, Any] | bytes
"""A JSON object, or the raw request body for models that take binary input."""


@dataclass(frozen=True)
class BinaryResult:
    """An answer sent as a bare body instead of a JSON envelope."""

    content: bytes
    media_type: str


JsonResult: TypeAlias = dict[str, Any] | list[dict[str, Any]]
TaskResult: TypeAlias = BinaryResult | JsonResult

# Every task but the two the backends themselves serve (chat and embeddings).
TASKS: frozenset[Task] = frozenset(get_args(Task)) - {"Text Generation", "Text Embeddings"}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_IMAGE_SIDE = 1024  # Stable Diffusion XL's and flux's default size
IMAGE_SCALE = 64  # the echo paints 1/64 of the requested size: small but still proportional
DETECTION_FALLBACK_SIZE = (640, 480)
WORD_SECONDS = 0.5
TOP_LABELS = 5
DEFAULT_DESCRIPTION_TOKENS = 512
_FLUX_FIELDS = frozenset(("prompt", "steps", "seed"))

# A few real class names, enough for varied but predictable answers.
IMAGENET_LABELS = (
    "TABBY",
    "EGYPTIAN CAT",
    "GOLDEN RETRIEVER",
    "PUG",
    "TIGER",
    "ZEBRA",
    "BALD EAGLE",
    "GOLDFISH",
    "LIGHTHOUSE",
    "CASTLE",
    "SPORTS CAR",
    "STEAM LOCOMOTIVE",
    "ESPRESSO",
    "PIZZA",
    "BANANA",
    "DAISY",
)
COCO_LABELS = ("person", "bicycle", "car", "dog", "cat", "bird", "chair", "cup", "bottle", "tv")
POSITIVE_WORDS = frozenset(
    (
        "good",
        "great",
        "excellent",
        "love",
        "loved",
        "lovely",
        "happy",
        "wonderful",
        "amazing",
        "best",
        "nice",
        "fantastic",
        "enjoy",
        "enjoyed",
        "like",
        "awesome",
        "beautiful",
        "perfect",
        "brilliant",
        "delightful",
        "pleased",
    )
)
NEGATIVE_WORDS = frozenset(
    (
        "bad",
        "terrible",
        "awful",
        "hate",
        "hated",
        "horrible",
        "worst",
        "poor",
        "sad",
        "boring",
        "ugly",
        "disappointing",
        "disappointed",
        "annoying",
        "broken",
        "angry",
        "dislike",
        "useless",
        "slow",
        "wrong",
    )
)


def is_binary(body: bytes, content_type: str | None) -> bool:
    """Whether a body is raw input (audio, an image) rather than a JSON object.

    A binary content type says so; otherwise the body is JSON when it parses. That keeps
    ``curl -d`` (form-encoded) JSON working. An empty body counts as JSON, to get the
    missing-body error.
    """
    if not body:
        return False
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime == "application/json":
        return False
    if mime == "application/octet-stream" or mime.startswith(("audio/", "image/", "video/")):
        return True
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


def answer(task: Task, model: str, inputs: Inputs) -> TaskResult:
    """Run one of :data:`TASKS` for ``model``."""
    if task == "Text-to-Image":
        return text_to_image(model, _json(inputs))
    if task == "Automatic Speech Recognition":
        if sends_base64_audio(model):
            return transcribe_base64(_json(inputs))
        return transcribe(inputs)
    if task == "Image Classification":
        return classify_image(_binary(inputs, "image"))
    if task == "Object Detection":
        return detect_objects(_binary(inputs, "image"))
    if task == "Text Classification":
        return classify_text(_json(inputs))
    if task == "Translation":
        return translate(_json(inputs))
    if task == "Image-to-Text":
        return describe_image(inputs)
    raise ValueError(f"{task} is served by the backend, not by workers_ai_local.tasks")


def _json(inputs: Inputs) -> Mapping[str, Any]:
    if isinstance(inputs, bytes):
        raise bad_input("Type mismatch of '/', 'binary' not in 'object'")
    return inputs


def _binary(inputs: Inputs, key: str) -> bytes:
    """Raw-body input, or the schemas' JSON alternative ``{key: [byte values]}``."""
    if isinstance(inputs, bytes):
        return inputs
    require(inputs, key)
    data = byte_array(inputs[key], f"/{key}")
    if not data:
        raise bad_input(f"Array at '/{key}' must have at least 1 item")
    return data


# -- Text-to-Image -----------------------------------------------------------------------------


def text_to_image(model: str, body: Mapping[str, Any]) -> TaskResult:
    if "flux" in model:
        return _flux(body)
    require(body, "prompt")
    prompt = nonempty_string(body["prompt"], "/prompt")
    optional_string(body, "negative_prompt")
    height = optional_number(body, "height", 256, 2048, integer=True) or DEFAULT_IMAGE_SIDE
    width = optional_number(body, "width", 256, 2048, integer=True) or DEFAULT_IMAGE_SIDE
    optional_number(body, "num_steps", 1, 20, integer=True)
    optional_number(body, "guidance")
    optional_number(body, "strength", 0, 1)
    seed = optional_number(body, "seed", integer=True)
    for key in ("image", "mask"):
        if body.get(key) is not None:
            byte_array(body[key], f"/{key}")
    if body.get("image_b64") is not None:
        base64_bytes(body["image_b64"], "/image_b64")
    image = echo_png(prompt, seed, int(width), int(height))
    return BinaryResult(image, "image/png")


def _flux(body: Mapping[str, Any]) -> TaskResult:
    # flux's schema is closed (additionalProperties: false), unlike the Stable Diffusion ones.
    extra = sorted(set(body) - _FLUX_FIELDS)
    if extra:
        raise bad_input(f"Property '{extra[0]}' at '/' is not allowed by the schema")
    require(body, "prompt")
    prompt = nonempty_string(body["prompt"], "/prompt", max_length=2048)
    optional_number(body, "steps", 1, 8, integer=True)
    seed = optional_number(body, "seed", integer=True)
    image = echo_png(prompt, seed, DEFAULT_IMAGE_SIDE, DEFAULT_IMAGE_SIDE)
    # Cloudflare's flux sends a base64 JPEG; ours is a base64 PNG (no image codec needed).
    return {"image": base64.b64encode(image).decode("ascii")}


def echo_png(prompt: str, seed: float | None, width: int, height: int) -> bytes:
    """The echo's picture of ``prompt``: a gradient whose colours come from prompt and seed."""
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    return png(max(1, width // IMAGE_SCALE), max(1, height // IMAGE_SCALE), digest)


def png(width: int, height: int, colours: bytes) -> bytes:
    """An 8-bit RGB PNG; ``colours`` (at least 6 bytes) sets the start and step of each channel."""
    r, g, b, dr, dg, db = colours[:6]
    rows = b"".join(
        b"\x00"  # filter type "none" for each scanline
        + bytes(
            channel
            for x in range(width)
            for channel in ((r + x * dr) & 255, (g + y * dg) & 255, (b + (x + y) * db) & 255)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, or None when ``data`` is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return cast(tuple[int, int], (width, height))


# -- Automatic Speech Recognition --------------------------------------------------------------


def transcribe(inputs: Inputs) -> JsonResult:
    """whisper and whisper-tiny-en: raw audio or ``{"audio": [bytes]}`` ->
    ``{text, word_count, words, vtt}``."""
    heard = _heard(_binary(inputs, "audio"))
    words = _timed_words(heard)
    return {"text": heard, "word_count": len(words), "words": words, "vtt": _vtt(heard, words)}


def transcribe_base64(body: Mapping[str, Any]) -> JsonResult:
    """whisper-large-v3-turbo: ``{"audio": "<base64>", task?, language?, vad_filter?,
    initial_prompt?, prefix?}`` -> ``{text, word_count, segments, transcription_info, vtt}``."""
    require(body, "audio")
    audio = base64_bytes(body["audio"], "/audio")
    mode = optional_string(body, "task") or "transcribe"
    if mode not in ("transcribe", "translate"):
        raise bad_input("Value at '/task' must be one of 'transcribe', 'translate'")
    language = optional_string(body, "language") or "en"
    optional_bool(body, "vad_filter")
    optional_string(body, "initial_prompt")
    prefix = optional_string(body, "prefix")
    heard = " ".join(p for p in (prefix, _heard(audio)) if p)
    words = _timed_words(heard)
    duration = words[-1]["end"] if words else 0.0
    segment = {
        "start": 0.0,
        "end": duration,
        "text": heard,
        "temperature": 0.0,
        "avg_logprob": 0.0,
        "compression_ratio": 1.0,
        "no_speech_prob": 0.0,
        "words": words,
    }
    return {
        "text": heard,
        "word_count": len(words),
        "segments": [segment],
        "transcription_info": {
            "language": language,
            "language_probability": 1.0,
            "duration": duration,
            "duration_after_vad": duration,
        },
        "vtt": _vtt(heard, words),
    }


def _heard(audio: bytes) -> str:
    try:
        decoded = audio.decode("utf-8")
    except UnicodeDecodeError:
        decoded = ""
    words = decoded.split()
    if words and all(c.isprintable() or c.isspace() for c in decoded):
        return " ".join(words)
    return f"[{len(audio)} bytes of audio]"


def _timed_words(heard: str) -> list[dict[str, Any]]:
    return [
        {"word": word, "start": i * WORD_SECONDS, "end": round((i + 0.8) * WORD_SECONDS, 3)}
        for i, word in enumerate(heard.split())
    ]


def _vtt(heard: str, words: list[dict[str, Any]]) -> str:
    end = words[-1]["end"] if words else 0.0
    return f"WEBVTT\n\n{_timestamp(0.0)} --> {_timestamp(end)}\n{heard}\n\n"


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


# -- images in ---------------------------------------------------------------------------------


def classify_image(image: bytes) -> JsonResult:
    """resnet-50: the top five labels with descending scores (they need not sum to 1)."""
    digest = hashlib.sha256(image).digest()
    start = digest[0] % len(IMAGENET_LABELS)
    labels = [IMAGENET_LABELS[(start + i) % len(IMAGENET_LABELS)] for i in range(TOP_LABELS)]
    weights = sorted((1 + b for b in digest[1 : 1 + TOP_LABELS]), reverse=True)
    total = sum(weights) + 64  # the mass left for the other classes
    scored = zip(labels, weights, strict=True)
    return [{"label": label, "score": round(w / total, 6)} for label, w in scored]


def detect_objects(image: bytes) -> JsonResult:
    """detr-resnet-50: ``[{label, score, box: {xmin, ymin, xmax, ymax}}]`` in pixels."""
    digest = hashlib.sha256(image).digest()
    width, height = png_size(image) or DETECTION_FALLBACK_SIZE
    found = []
    for i in range(1 + digest[0] % 3):
        d = digest[1 + 5 * i : 6 + 5 * i]
        found.append(
            {
                "label": COCO_LABELS[d[0] % len(COCO_LABELS)],
                "score": round(0.99 - 0.2 * i - d[1] / 2550, 6),
                "box": _box(width, height, d[1:]),
            }
        )
    return found


def _box(width: int, height: int, d: bytes) -> dict[str, int]:
    # Top-left in the first half of each side; the size is a third to the whole of the rest.
    xmin, ymin = width * d[0] // 512, height * d[1] // 512
    xmax = xmin + max(1, (width - xmin) * (128 + d[2]) // 384)
    ymax = ymin + max(1, (height - ymin) * (128 + d[3]) // 384)
    return {"xmin": xmin, "ymin": ymin, "xmax": min(xmax, width), "ymax": min(ymax, height)}


def describe_image(inputs: Inputs) -> JsonResult:
    """llava: raw image, or ``{"image": [bytes] | "<base64>", prompt?, max_tokens?,
    temperature?, raw?}`` -> ``{"description"}``."""
    if isinstance(inputs, bytes):
        image, prompt, limit = inputs, None, DEFAULT_DESCRIPTION_TOKENS
    else:
        require(inputs, "image")
        raw = inputs["image"]
        image = base64_bytes(raw, "/image") if isinstance(raw, str) else _binary(inputs, "image")
        prompt = optional_string(inputs, "prompt")
        limit = int(
            optional_number(inputs, "max_tokens", 1, math.inf, integer=True)
            or DEFAULT_DESCRIPTION_TOKENS
        )
        optional_number(inputs, "temperature", 0, 5)
        optional_bool(inputs, "raw")
    size = png_size(image)
    seen = f"A {size[0]}x{size[1]} PNG image." if size else f"An image of {len(image)} bytes."
    description = f"{seen} You asked: {prompt}" if prompt else seen
    return {"description": " ".join(description.split()[:limit])}


# -- text in -----------------------------------------------------------------------------------


def classify_text(body: Mapping[str, Any]) -> JsonResult:
    """distilbert-sst-2: ``[{NEGATIVE, score}, {POSITIVE, score}]`` from word lists."""
    require(body, "text")
    words = re.findall(r"[a-z']+", nonempty_string(body["text"], "/text").lower())
    lean = sum(w in POSITIVE_WORDS for w in words) - sum(w in NEGATIVE_WORDS for w in words)
    positive = round(1 / (1 + math.exp(-2 * lean)), 6)
    return [
        {"label": "NEGATIVE", "score": round(1 - positive, 6)},
        {"label": "POSITIVE", "score": positive},
    ]


def translate(body: Mapping[str, Any]) -> JsonResult:
    """m2m100: ``{text, target_lang, source_lang = "en"}`` -> ``{"translated_text"}``."""
    require(body, "text", "target_lang")
    source = nonempty_string(body["text"], "/text")
    target = body["target_lang"]
    if not isinstance(target, str):
        raise mismatch("/target_lang", target, "string")
    if (optional_string(body, "source_lang") or "en") == target:
        return {"translated_text": source}
    return {"translated_text": f"[{target}] {source}"}
