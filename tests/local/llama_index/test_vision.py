"""LlamaIndex ImageBlocks reach a Workers AI vision model as OpenAI ``image_url`` parts.

Every way an ImageBlock can hold an image (bytes raw or base64, a file object, a path, an
http(s) URL, a data URL; media type given or guessed) is sent through the four chat entry points
to the local server, and the request log shows what arrived.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, MessageRole, TextBlock

from tests.local.langchain.images import PNG_1X1, PNG_1X1_B64
from tests.local.llama_index.conftest import local_llm
from workers_ai.errors import InvalidRequestError
from workers_ai_local import LocalServer

VISION = "@cf/meta/llama-4-scout-17b-16e-instruct"
NO_VISION = "@cf/meta/llama-3.1-8b-instruct-fp8"
PNG_DATA_URL = f"data:image/png;base64,{PNG_1X1_B64}"
# A 1x1 GIF: a second format, so a guessed media type is seen to come from the bytes.
GIF_1X1 = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
GIF_DATA_URL = "data:image/gif;base64," + base64.b64encode(GIF_1X1).decode()


def data_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/ai/run/" in r["path"]]


def sent_content(server: LocalServer) -> Any:
    requests = data_requests(server)
    assert len(requests) == 1
    return requests[0]["body"]["messages"][-1]["content"]


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def _png_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(PNG_1X1)
    return path


# (how the block is built from tmp_path, the url that must arrive)
IMAGE_FORMS: dict[str, tuple[Callable[[Path], ImageBlock], str]] = {
    "raw-bytes": (lambda _: ImageBlock(image=PNG_1X1), PNG_DATA_URL),
    "base64-bytes": (lambda _: ImageBlock(image=PNG_1X1_B64.encode()), PNG_DATA_URL),
    "raw-bytes-gif-guessed": (lambda _: ImageBlock(image=GIF_1X1), GIF_DATA_URL),
    "bytes-with-mimetype": (
        lambda _: ImageBlock(image=PNG_1X1, image_mimetype="image/png"),
        PNG_DATA_URL,
    ),
    "file-object": (lambda _: ImageBlock(image=io.BytesIO(PNG_1X1)), PNG_DATA_URL),
    "path": (lambda tmp: ImageBlock(path=_png_file(tmp, "pixel.png")), PNG_DATA_URL),
    "path-without-suffix": (lambda tmp: ImageBlock(path=_png_file(tmp, "pixel")), PNG_DATA_URL),
    "path-with-mimetype": (
        lambda tmp: ImageBlock(path=_png_file(tmp, "pixel.bin"), image_mimetype="image/png"),
        PNG_DATA_URL,
    ),
    "https-url": (
        lambda _: ImageBlock(url="https://example.com/cat.png"),
        "https://example.com/cat.png",
    ),
    "http-url-no-suffix": (
        lambda _: ImageBlock(url="http://example.com/images/42?size=large"),
        "http://example.com/images/42?size=large",
    ),
    "data-url": (lambda _: ImageBlock(url=PNG_DATA_URL), PNG_DATA_URL),
    "data-url-without-media-type": (
        lambda _: ImageBlock(url=f"data:;base64,{PNG_1X1_B64}"),
        PNG_DATA_URL,
    ),
}


@pytest.fixture(params=sorted(IMAGE_FORMS))
def image_form(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[ImageBlock, str]:
    build, expected = IMAGE_FORMS[request.param]
    return build(tmp_path), expected


def vision_message(block: ImageBlock) -> ChatMessage:
    return ChatMessage(
        role=MessageRole.USER, blocks=[TextBlock(text="What is in this picture?"), block]
    )


def expected_parts(url: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": "What is in this picture?"}, image_part(url)]


# -- every ImageBlock form, through each entry point ----------------------------------------------


def test_chat_sends_every_image_form(
    server: LocalServer, image_form: tuple[ImageBlock, str]
) -> None:
    block, url = image_form
    response = local_llm(server, model=VISION).chat([vision_message(block)])
    assert sent_content(server) == expected_parts(url)
    assert response.message.content == "Echo: What is in this picture?"


async def test_achat_sends_every_image_form(
    server: LocalServer, image_form: tuple[ImageBlock, str]
) -> None:
    block, url = image_form
    await local_llm(server, model=VISION).achat([vision_message(block)])
    assert sent_content(server) == expected_parts(url)


def test_stream_chat_sends_every_image_form(
    server: LocalServer, image_form: tuple[ImageBlock, str]
) -> None:
    block, url = image_form
    responses = list(local_llm(server, model=VISION).stream_chat([vision_message(block)]))
    assert responses[-1].message.content == "Echo: What is in this picture?"
    assert sent_content(server) == expected_parts(url)
    assert data_requests(server)[0]["body"]["stream"] is True


async def test_astream_chat_sends_every_image_form(
    server: LocalServer, image_form: tuple[ImageBlock, str]
) -> None:
    block, url = image_form
    stream = await local_llm(server, model=VISION).astream_chat([vision_message(block)])
    responses = [response async for response in stream]
    assert responses[-1].message.content == "Echo: What is in this picture?"
    assert sent_content(server) == expected_parts(url)


# -- message forms and ordering -------------------------------------------------------------------


def test_mixed_text_and_images_keep_their_order(server: LocalServer, tmp_path: Path) -> None:
    message = ChatMessage(
        role=MessageRole.USER,
        blocks=[
            TextBlock(text="First this one:"),
            ImageBlock(image=PNG_1X1),
            TextBlock(text="then this one:"),
            ImageBlock(url="https://example.com/b.png"),
            ImageBlock(path=_png_file(tmp_path, "c.png")),
            TextBlock(text="Compare them."),
        ],
    )
    local_llm(server, model=VISION).chat([message])
    assert sent_content(server) == [
        {"type": "text", "text": "First this one:"},
        image_part(PNG_DATA_URL),
        {"type": "text", "text": "then this one:"},
        image_part("https://example.com/b.png"),
        image_part(PNG_DATA_URL),
        {"type": "text", "text": "Compare them."},
    ]


def test_content_list_form_is_the_same_as_blocks(server: LocalServer) -> None:
    llm = local_llm(server, model=VISION)
    llm.chat([ChatMessage(content=[TextBlock(text="Describe."), ImageBlock(image=PNG_1X1)])])
    from_content = sent_content(server)
    server.reset()
    llm.chat([ChatMessage(blocks=[TextBlock(text="Describe."), ImageBlock(image=PNG_1X1)])])
    assert from_content == [{"type": "text", "text": "Describe."}, image_part(PNG_DATA_URL)]
    assert sent_content(server) == from_content


def test_an_image_only_message_is_a_list_of_one_part(server: LocalServer) -> None:
    local_llm(server, model=VISION).chat([ChatMessage(blocks=[ImageBlock(image=PNG_1X1)])])
    assert sent_content(server) == [image_part(PNG_DATA_URL)]


def test_images_in_history_and_system_text_stay_in_place(server: LocalServer) -> None:
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content="You describe pictures."),
        ChatMessage(blocks=[TextBlock(text="What is this?"), ImageBlock(image=PNG_1X1)]),
        ChatMessage(role=MessageRole.ASSISTANT, content="A pixel."),
        ChatMessage(content="What colour is it?"),
    ]
    local_llm(server, model=VISION).chat(messages)
    sent = data_requests(server)[0]["body"]["messages"]
    assert sent == [
        {"role": "system", "content": "You describe pictures."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is this?"}, image_part(PNG_DATA_URL)],
        },
        {"role": "assistant", "content": "A pixel."},
        {"role": "user", "content": "What colour is it?"},
    ]


def test_legacy_additional_kwargs_images_are_sent(server: LocalServer) -> None:
    from llama_index.core.schema import ImageDocument

    message = ChatMessage(
        content="Describe.", additional_kwargs={"images": [ImageDocument(image=PNG_1X1_B64)]}
    )
    llm = local_llm(server, model=VISION)
    for _ in range(3):  # llama-index-core re-validates the message, appending the images again
        server.reset()
        llm.chat([message])
        assert sent_content(server) == [
            {"type": "text", "text": "Describe."},
            image_part(PNG_DATA_URL),
        ]


def test_an_image_of_unknown_type_needs_a_mimetype(server: LocalServer) -> None:
    block = ImageBlock(image=b"not an image at all")
    with pytest.raises(ValueError, match="image_mimetype"):
        local_llm(server, model=VISION).chat([vision_message(block)])
    assert data_requests(server) == []
    block = ImageBlock(image=b"not an image at all", image_mimetype="image/webp")
    local_llm(server, model=VISION).chat([vision_message(block)])
    encoded = base64.b64encode(b"not an image at all").decode()
    assert sent_content(server)[1] == image_part(f"data:image/webp;base64,{encoded}")


# -- a model without vision is refused before the network ----------------------------------------


def test_an_image_for_a_model_without_vision_is_refused_before_any_request(
    server: LocalServer,
) -> None:
    llm = local_llm(server, model=NO_VISION)
    with pytest.raises(InvalidRequestError, match="vision"):
        llm.chat([vision_message(ImageBlock(image=PNG_1X1))])
    assert data_requests(server) == []
