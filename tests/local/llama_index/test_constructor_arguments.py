"""What the LlamaIndex constructors take: a misspelt argument is refused with the closest
field (not dropped, which LlamaIndex's pydantic models would do), and the embedding's
``show_progress=`` in the constructor shows the bar on every batch call."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from llama_index.core import Document, VectorStoreIndex

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI
from tests.local.llama_index.conftest import local_embedding

CREDENTIALS = {"account_id": "a", "api_token": "secret-token-1"}


@pytest.mark.parametrize(
    ("cls", "typo", "meant", "hint"),
    [
        (WorkersAI, "temprature", "temperature", "go in additional_kwargs"),
        (WorkersAI, "max_token", "max_tokens", "go in additional_kwargs"),
        (WorkersAIEmbedding, "modelname", "model_name", ""),
        (WorkersAIEmbedding, "embed_batchsize", "embed_batch_size", ""),
    ],
)
def test_a_misspelt_argument_is_refused_naming_the_field_meant(
    cls: Any, typo: str, meant: str, hint: str
) -> None:
    with pytest.raises(TypeError) as raised:
        cls(**{typo: 1}, **CREDENTIALS)
    message = str(raised.value)
    assert message.startswith(
        f"{cls.__name__}() got unexpected keyword argument {typo!r} (did you mean {meant!r}?)"
    )
    assert hint in message
    assert "secret-token-1" not in message


def test_several_unknown_arguments_are_named_together_and_a_far_one_gets_no_guess() -> None:
    with pytest.raises(TypeError, match=r"arguments 'qqq', 'temprature' \(did you mean"):
        WorkersAI(temprature=0.1, qqq=1, **CREDENTIALS)
    with pytest.raises(TypeError) as raised:
        WorkersAIEmbedding(qqq=1, **CREDENTIALS)
    assert "did you mean" not in str(raised.value)


def test_aliases_injected_clients_and_round_trips_are_still_taken() -> None:
    with httpx.Client() as sync_http:
        llm = WorkersAI(
            model_kwargs={"lora": "x"}, api_key="t", account_id="a", http_client=sync_http
        )
        assert llm.additional_kwargs == {"lora": "x"}
        assert llm.api_token is not None and llm.api_token.get_secret_value() == "t"
    copied = WorkersAI.from_dict(WorkersAI(temperature=0.3, **CREDENTIALS).to_dict())
    assert copied.temperature == 0.3
    embedding = WorkersAIEmbedding(embed_batch_size=7, show_progress=True, **CREDENTIALS)
    again = WorkersAIEmbedding.from_dict(embedding.to_dict())
    assert (again.embed_batch_size, again.show_progress) == (7, True)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_show_progress_in_the_constructor_shows_the_bar(
    server: Any, use_async: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    embedding = local_embedding(server, show_progress=True, embed_batch_size=2)
    texts = [f"text {i}" for i in range(5)]
    if use_async:
        vectors = await embedding.aget_text_embedding_batch(texts)
    else:
        vectors = embedding.get_text_embedding_batch(texts)
    assert len(vectors) == 5
    assert "Generating embeddings" in capsys.readouterr().err
    quiet = local_embedding(server, embed_batch_size=2)
    quiet.get_text_embedding_batch(texts)
    assert "Generating embeddings" not in capsys.readouterr().err


def test_an_index_built_with_it_shows_the_bar(
    server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    embedding = local_embedding(server, show_progress=True)
    VectorStoreIndex.from_documents(
        [Document(text="Workers AI runs models."), Document(text="On Cloudflare.")],
        embed_model=embedding,
    )
    assert "Generating embeddings" in capsys.readouterr().err
