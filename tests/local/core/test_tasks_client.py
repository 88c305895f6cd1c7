"""Every task through the core client over HTTP: binary out and in, the typed helpers, context
windows and images for models without vision."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.local.core.conftest import connect
from tests.local.test_server_tasks import decoded_pixels, png_header
from workers_ai import (
    AsyncWorkersAI,
    Classification,
    ContextWindowExceededError,
    InvalidRequestError,
    ModelDeprecatedError,
    Transcription,
    WorkersAI,
)

SDXL = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
FLUX = "@cf/black-forest-labs/flux-1-schnell"
WHISPER = "@cf/openai/whisper"
TURBO = "@cf/openai/whisper-large-v3-turbo"
RESNET = "@cf/microsoft/resnet-50"
SENTIMENT = "@cf/huggingface/distilbert-sst-2-int8"
M2M = "@cf/meta/m2m100-1.2b"
BART = "@cf/facebook/bart-large-cnn"  # retired on 2026-05-30, on purpose
SMALL_WINDOW = "@cf/google/gemma-2b-it-lora"  # context window 8192, no vision


@pytest.fixture
def client(server: Any) -> Any:
    with WorkersAI(**connect(server)) as c:
        yield c


def last_request(server: Any) -> dict[str, Any]:
    return dict(server.requests()[-1])


def test_run_on_an_image_model_returns_png_bytes(client: WorkersAI) -> None:
    image = client.run(SDXL, {"prompt": "a lighthouse at dusk", "seed": 4})
    assert isinstance(image, bytes)
    width, height, _, _ = png_header(image)  # a real PNG: signature, IHDR and its CRC
    assert len(decoded_pixels(image)) == height * (1 + 3 * width)


@pytest.mark.parametrize("model", [SDXL, FLUX])
def test_generate_image_is_png_bytes_for_binary_and_base64_answers(
    client: WorkersAI, model: str
) -> None:
    image = client.generate_image(model, "a lighthouse", seed=7)
    assert png_header(image)[:2] >= (1, 1)
    assert client.generate_image(model, "a lighthouse", seed=7) == image


def test_generate_image_sends_the_models_options(client: WorkersAI, server: Any) -> None:
    client.generate_image(SDXL, "a fox", negative_prompt="blur", width=512, height=768, seed=1)
    body = last_request(server)["body"]
    assert body == {
        "prompt": "a fox",
        "negative_prompt": "blur",
        "width": 512,
        "height": 768,
        "seed": 1,
    }


def test_run_sends_bytes_as_the_raw_body(client: WorkersAI, server: Any) -> None:
    labels = client.run(RESNET, b"\x89PNG not really an image")
    assert len(labels) == 5 and {"label", "score"} <= set(labels[0])
    assert last_request(server)["headers"]["content-type"] == "application/octet-stream"


def test_transcribe_with_the_raw_body_and_with_base64(client: WorkersAI, server: Any) -> None:
    heard = client.transcribe(WHISPER, b"hello from the sea")
    assert isinstance(heard, Transcription)
    assert heard.text == "hello from the sea" and heard.word_count == 4
    assert [w.word for w in heard.words] == ["hello", "from", "the", "sea"]
    assert last_request(server)["headers"]["content-type"] == "application/octet-stream"

    turbo = client.transcribe(TURBO, b"bonjour la mer", language="fr")
    assert turbo.text == "bonjour la mer" and turbo.segments and turbo.language == "fr"
    body = last_request(server)["body"]
    assert body["language"] == "fr" and isinstance(body["audio"], str)  # base64, as turbo wants


def test_options_for_a_whisper_model_that_takes_none_are_refused(client: WorkersAI) -> None:
    with pytest.raises(InvalidRequestError, match="language"):
        client.transcribe(WHISPER, b"audio", language="fr")


def test_text_tasks(client: WorkersAI) -> None:
    labels = client.classify_text(SENTIMENT, "what a wonderful, delightful day")
    assert all(isinstance(c, Classification) for c in labels)
    assert max(labels, key=lambda c: c.score).label == "POSITIVE"
    assert client.translate(M2M, "hello", "fr") == "[fr] hello"


def test_summarize_on_the_retired_bart_names_its_replacement(
    client: WorkersAI, server: Any
) -> None:
    with pytest.raises(ModelDeprecatedError) as caught:
        client.summarize(BART, "The sea was calm. Boats came home.", max_length=8)
    assert caught.value.deprecated_on == "2026-05-30"
    assert caught.value.replacement == "@cf/zai-org/glm-4.7-flash"
    assert "retired by Cloudflare on 2026-05-30" in str(caught.value)
    assert server.requests() == []  # known before the network


async def test_async_tasks(server: Any) -> None:
    async with AsyncWorkersAI(**connect(server)) as client:
        image = await client.generate_image(SDXL, "a fox")
        assert png_header(image)
        assert (await client.transcribe(WHISPER, b"hi there")).text == "hi there"
        assert (await client.classify_text(SENTIMENT, "awful")) is not None
        assert await client.translate(M2M, "hello", "de", source_lang="en") == "[de] hello"
        assert isinstance(await client.run(SDXL, {"prompt": "x"}), bytes)


def test_a_too_long_prompt_is_a_context_window_error_naming_the_window(
    client: WorkersAI, server: Any
) -> None:
    long_history = [{"role": "user", "content": "word " * 8000}]
    with pytest.raises(ContextWindowExceededError) as caught:
        client.chat(SMALL_WINDOW, long_history)
    error = caught.value
    assert error.status == 413 and error.code == 5021 and error.context_window == 8192
    assert error.requested_tokens is not None and error.requested_tokens > 8192
    assert f"{SMALL_WINDOW}'s context window is 8192 tokens" in str(error)
    assert len(server.requests()) == 1  # a 413 is not retried


def test_a_context_window_error_while_streaming(client: WorkersAI) -> None:
    with pytest.raises(ContextWindowExceededError):
        list(client.stream_chat(SMALL_WINDOW, prompt="word " * 8000))


def test_images_to_a_model_without_vision_never_reach_the_network(
    client: WorkersAI, server: Any
) -> None:
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ],
    }
    with pytest.raises(InvalidRequestError, match="no vision"):
        client.chat(SMALL_WINDOW, [message])  # type: ignore[list-item]
    assert server.requests() == []


def test_a_binary_answer_is_never_parsed_as_json(client: WorkersAI, server: Any) -> None:
    image = client.run(SDXL, {"prompt": "x"})
    with pytest.raises(ValueError):
        json.loads(image)
