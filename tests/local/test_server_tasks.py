"""The local server's non-text tasks and context-window check, over plain HTTP."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workers_ai._tasks import (
    image_bytes,
    parse_classifications,
    parse_transcription,
    parse_translation,
)
from workers_ai_local import LocalServer

SDXL = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
FLUX = "@cf/black-forest-labs/flux-1-schnell"
WHISPER = "@cf/openai/whisper"
TURBO = "@cf/openai/whisper-large-v3-turbo"
RESNET = "@cf/microsoft/resnet-50"
DETR = "@cf/facebook/detr-resnet-50"
SENTIMENT = "@cf/huggingface/distilbert-sst-2-int8"
M2M = "@cf/meta/m2m100-1.2b"
BART = "@cf/facebook/bart-large-cnn"  # retired on 2026-05-30: its tests are about that
LLAVA = "@cf/llava-hf/llava-1.5-7b-hf"
SMALL_WINDOW = "@cf/google/gemma-2b-it-lora"  # context window 8192
OCTET = {"content-type": "application/octet-stream"}


@pytest.fixture
def client(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as c:
        yield c


def run(client: httpx.Client, server: LocalServer, model: str, **kwargs: Any) -> httpx.Response:
    return client.post(f"/accounts/{server.account_id}/ai/run/{model}", **kwargs)


def result_of(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["errors"] == []
    return body["result"]


def error_of(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["result"] is None
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


def png_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type), checking the signature and the IHDR CRC."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    (crc,) = struct.unpack(">I", data[29:33])
    assert crc == zlib.crc32(data[12:29])
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


def decoded_pixels(data: bytes) -> bytes:
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4 : idat])
    return zlib.decompress(data[idat + 4 : idat + 4 + length])


# -- Text-to-Image -----------------------------------------------------------------------------


def test_stable_diffusion_answers_a_png(client: httpx.Client, server: LocalServer) -> None:
    response = run(client, server, SDXL, json={"prompt": "a red fox", "seed": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    width, height, depth, colour = png_header(response.content)
    assert (width, height, depth, colour) == (16, 16, 8, 2)
    assert len(decoded_pixels(response.content)) == height * (1 + 3 * width)
    assert response.content.endswith(b"IEND\xaeB`\x82")
    assert image_bytes(response.content) == response.content


def test_png_is_deterministic_and_sized(client: httpx.Client, server: LocalServer) -> None:
    first = run(client, server, SDXL, json={"prompt": "a fox", "seed": 1}).content
    again = run(client, server, SDXL, json={"prompt": "a fox", "seed": 1}).content
    other = run(client, server, SDXL, json={"prompt": "a fox", "seed": 2}).content
    assert first == again != other
    sized = run(client, server, SDXL, json={"prompt": "a fox", "width": 512, "height": 768})
    assert png_header(sized.content)[:2] == (8, 12)


def test_flux_answers_base64_in_the_envelope(client: httpx.Client, server: LocalServer) -> None:
    result = result_of(run(client, server, FLUX, json={"prompt": "a fox", "steps": 4}))
    assert set(result) == {"image"}
    assert png_header(base64.b64decode(result["image"]))[:2] == (16, 16)
    assert image_bytes(result).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (SDXL, {}, "required properties at '/' are 'prompt'"),
        (SDXL, {"prompt": ""}, "Length of '/prompt' must be >= 1"),
        (SDXL, {"prompt": "x", "width": 100}, "Value at '/width' must be >= 256"),
        (SDXL, {"prompt": "x", "num_steps": 21}, "Value at '/num_steps' must be <= 20"),
        (SDXL, {"prompt": "x", "image": [1, 256]}, "Value at '/image/1' must be <= 255"),
        (SDXL, {"prompt": "x", "image_b64": "%%"}, "'/image_b64' is not valid base64"),
        (FLUX, {"prompt": "x", "steps": 9}, "Value at '/steps' must be <= 8"),
        (FLUX, {"prompt": "x", "width": 512}, "Property 'width' at '/' is not allowed"),
    ],
)
def test_image_input_errors_are_5006(
    client: httpx.Client, server: LocalServer, model: str, body: Any, message: str
) -> None:
    error = error_of(run(client, server, model, json=body))
    assert error["code"] == 5006 and message in error["message"]
    assert error["message"].startswith("AiError: Bad input: Error: ")


def test_binary_body_to_a_json_model_is_5006(client: httpx.Client, server: LocalServer) -> None:
    error = error_of(run(client, server, SDXL, content=b"\x00\x01", headers=OCTET))
    assert error == {
        "code": 5006,
        "message": "AiError: Bad input: Error: Type mismatch of '/', 'binary' not in 'object'",
    }
    error = error_of(run(client, server, SENTIMENT, content=b"\xff\xfe not json"))
    assert error["code"] == 5006
    assert error_of(run(client, server, TURBO, content=b"RIFF", headers=OCTET))["code"] == 5006


# -- Automatic Speech Recognition --------------------------------------------------------------


def test_whisper_with_a_raw_body(client: httpx.Client, server: LocalServer) -> None:
    result = result_of(run(client, server, WHISPER, content=b"hello world", headers=OCTET))
    assert result == {
        "text": "hello world",
        "word_count": 2,
        "words": [
            {"word": "hello", "start": 0.0, "end": 0.4},
            {"word": "world", "start": 0.5, "end": 0.9},
        ],
        "vtt": "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nhello world\n\n",
    }
    assert parse_transcription(result).text == "hello world"


def test_whisper_with_the_json_byte_list(client: httpx.Client, server: LocalServer) -> None:
    result = result_of(run(client, server, WHISPER, json={"audio": list(b"hi there")}))
    assert result["text"] == "hi there" and result["word_count"] == 2


def test_whisper_names_the_size_of_real_audio(client: httpx.Client, server: LocalServer) -> None:
    audio = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00"  # not text: a placeholder transcription
    result = result_of(run(client, server, "@cf/openai/whisper-tiny-en", content=audio))
    assert result["text"] == f"[{len(audio)} bytes of audio]"


def test_whisper_turbo_with_base64(client: httpx.Client, server: LocalServer) -> None:
    body = {"audio": base64.b64encode(b"good morning").decode(), "language": "fr", "prefix": "Oh"}
    result = result_of(run(client, server, TURBO, json=body))
    assert result["text"] == "Oh good morning" and result["word_count"] == 3
    (segment,) = result["segments"]
    assert segment["text"] == "Oh good morning" and len(segment["words"]) == 3
    info = result["transcription_info"]
    assert info["language"] == "fr" and info["duration"] == segment["end"] == 1.4
    parsed = parse_transcription(result)
    assert parsed.language == "fr" and [w.word for w in parsed.words] == ["Oh", "good", "morning"]


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (WHISPER, {}, "required properties at '/' are 'audio'"),
        (WHISPER, {"audio": "aGk="}, "Type mismatch of '/audio', 'string' not in 'array'"),
        (WHISPER, {"audio": [1, "x"]}, "Type mismatch of '/audio/1', 'string' not in 'number'"),
        (WHISPER, {"audio": []}, "Array at '/audio' must have at least 1 item"),
        (TURBO, {"audio": [1, 2]}, "Type mismatch of '/audio', 'array' not in 'string'"),
        (TURBO, {"audio": "aGk=", "task": "sing"}, "Value at '/task' must be one of"),
        (TURBO, {"audio": "aGk=", "vad_filter": "no"}, "'/vad_filter', 'string' not in"),
    ],
)
def test_speech_input_errors_are_5006(
    client: httpx.Client, server: LocalServer, model: str, body: Any, message: str
) -> None:
    error = error_of(run(client, server, model, json=body))
    assert error["code"] == 5006 and message in error["message"]


def test_request_log_keeps_binary_bodies(client: httpx.Client, server: LocalServer) -> None:
    result_of(run(client, server, WHISPER, content=b"\x00\xffabc", headers=OCTET))
    (entry,) = server.requests()
    assert entry["status"] == 200 and isinstance(entry["body"], str)


# -- images in ---------------------------------------------------------------------------------


def test_resnet_top_five(client: httpx.Client, server: LocalServer) -> None:
    image = run(client, server, SDXL, json={"prompt": "a cat"}).content
    result = result_of(run(client, server, RESNET, content=image, headers=OCTET))
    assert result == result_of(run(client, server, RESNET, json={"image": list(image)}))
    labels = parse_classifications(result)
    assert len(labels) == 5 and len({c.label for c in labels}) == 5
    scores = [c.score for c in labels]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1


def test_detr_boxes_fit_the_image(client: httpx.Client, server: LocalServer) -> None:
    image = run(client, server, SDXL, json={"prompt": "a dog", "width": 640}).content
    found = result_of(run(client, server, DETR, content=image, headers=OCTET))
    assert 1 <= len(found) <= 3
    for item in found:
        assert set(item) == {"label", "score", "box"} and 0 < item["score"] < 1
        box = item["box"]
        assert 0 <= box["xmin"] < box["xmax"] <= 10 and 0 <= box["ymin"] < box["ymax"] <= 16


def test_llava_describes_the_image(client: httpx.Client, server: LocalServer) -> None:
    image = run(client, server, SDXL, json={"prompt": "a dog"}).content
    body = {"image": base64.b64encode(image).decode(), "prompt": "What is it?"}
    result = result_of(run(client, server, LLAVA, json=body))
    assert result == {"description": "A 16x16 PNG image. You asked: What is it?"}
    result = result_of(run(client, server, LLAVA, json={"image": [1, 2, 3], "max_tokens": 3}))
    assert result == {"description": "An image of"}


# -- text tasks --------------------------------------------------------------------------------


def test_sentiment(client: httpx.Client, server: LocalServer) -> None:
    happy = result_of(run(client, server, SENTIMENT, json={"text": "I love this, it is great"}))
    assert [c["label"] for c in happy] == ["NEGATIVE", "POSITIVE"]
    assert happy[1]["score"] > 0.9 and happy[0]["score"] + happy[1]["score"] == pytest.approx(1)
    sad = parse_classifications(
        result_of(run(client, server, SENTIMENT, json={"text": "awful and boring"}))
    )
    assert sad[0].score > sad[1].score


def test_translation(client: httpx.Client, server: LocalServer) -> None:
    body = {"text": "hello", "target_lang": "fr"}
    assert parse_translation(result_of(run(client, server, M2M, json=body))) == "[fr] hello"
    same = result_of(run(client, server, M2M, json={**body, "source_lang": "fr"}))
    assert same == {"translated_text": "hello"}


def test_a_retired_model_is_410_5028(client: httpx.Client, server: LocalServer) -> None:
    # bart-large-cnn, the catalog's only summarization model, retired on purpose here.
    error = error_of(run(client, server, BART, json={"input_text": "text"}), 410)
    assert error == {
        "code": 5028,
        "message": f"AiError: Model has been deprecated: {BART} was deprecated on 2026-05-30. "
        "See the model catalog for alternatives",
    }


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (SENTIMENT, {}, "required properties at '/' are 'text'"),
        (SENTIMENT, {"text": 3}, "Type mismatch of '/text', 'integer' not in 'string'"),
        (M2M, {"text": "hi"}, "required properties at '/' are 'text', 'target_lang'"),
        (M2M, {"text": "hi", "target_lang": 1}, "'/target_lang', 'integer' not in 'string'"),
        (LLAVA, {"prompt": "hi"}, "required properties at '/' are 'image'"),
    ],
)
def test_text_input_errors_are_5006(
    client: httpx.Client, server: LocalServer, model: str, body: Any, message: str
) -> None:
    error = error_of(run(client, server, model, json=body))
    assert error["code"] == 5006 and message in error["message"]


def test_the_gateway_route_serves_tasks(server: LocalServer) -> None:
    url = f"{server.gateway_url}/{server.account_id}/gw/workers-ai/{SENTIMENT}"
    headers = {"authorization": f"Bearer {server.token}"}
    response = httpx.post(url, json={"text": "great"}, headers=headers, timeout=10)
    assert result_of(response)[1]["label"] == "POSITIVE"


def test_catalog_lists_the_task_models(client: httpx.Client, server: LocalServer) -> None:
    path = f"/accounts/{server.account_id}/ai/models/search"
    expected = {
        "Text-to-Image": {SDXL, FLUX},
        "Automatic Speech Recognition": {WHISPER, TURBO},
        "Image Classification": {RESNET},
        "Object Detection": {DETR},
        "Text Classification": {SENTIMENT},
        "Translation": {M2M},
        "Image-to-Text": {LLAVA},
    }
    for task, models in expected.items():
        items = client.get(path, params={"task": task, "per_page": 100}).json()["result"]
        assert models <= {m["name"] for m in items}
        assert all(m["task"]["name"] == task for m in items)
    whisper = client.get(path, params={"search": "whisper-tiny"}).json()["result"][0]
    assert whisper["task"]["id"] == "dfce1c48-2a81-462e-a7fd-de97ce985207"


# -- context window ----------------------------------------------------------------------------


def test_oversized_prompt_is_413_5021_on_run(client: httpx.Client, server: LocalServer) -> None:
    prompt = "word " * 8000  # 8000 words + the default 256 output tokens > 8192
    error = error_of(run(client, server, SMALL_WINDOW, json={"prompt": prompt}), 413)
    assert error == {
        "code": 5021,
        "message": "AiError: The estimated number of input and maximum output tokens (8256) "
        "exceeded this model context window limit (8192).",
    }
    fits = run(client, server, SMALL_WINDOW, json={"prompt": prompt, "max_tokens": 192})
    assert fits.status_code == 200


def test_oversized_request_is_413_5021_on_v1(client: httpx.Client, server: LocalServer) -> None:
    body = {
        "model": SMALL_WINDOW,
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "max_tokens": 8190,
    }
    response = client.post(f"/accounts/{server.account_id}/ai/v1/chat/completions", json=body)
    error = error_of(response, 413)
    assert error["code"] == 5021
    assert "tokens (8193) exceeded this model context window limit (8192)." in error["message"]
    body["max_tokens"] = 8189  # 3 prompt words + 8189: exactly the window
    ok = client.post(f"/accounts/{server.account_id}/ai/v1/chat/completions", json=body)
    assert ok.status_code == 200, ok.text


def test_unknown_windows_default_to_128k(client: httpx.Client, server: LocalServer) -> None:
    body = {"prompt": "hi", "max_tokens": 128000}
    no_window = "@cf/meta/llama-3.1-8b-instruct-fast"  # the catalog lists no context window
    error = error_of(run(client, server, no_window, json=body), 413)
    assert "(128001) exceeded this model context window limit (128000)" in error["message"]
