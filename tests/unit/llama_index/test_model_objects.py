"""Constructing WorkersAI and WorkersAIEmbedding: cheap, no I/O, secrets kept secret."""

from __future__ import annotations

import json

import httpx
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.tools import FunctionTool

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI
from workers_ai import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL

SECRET = "cf-secret-token-value"


def refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request expected, got {request.url}")


def no_network() -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(refuse))


def test_defaults_and_types() -> None:
    llm = WorkersAI()
    assert isinstance(llm, FunctionCallingLLM)
    assert llm.model == DEFAULT_CHAT_MODEL
    assert llm.class_name() == "WorkersAI_llm"
    embed_model = WorkersAIEmbedding()
    assert isinstance(embed_model, BaseEmbedding)
    assert embed_model.model_name == DEFAULT_EMBEDDING_MODEL
    assert embed_model.embed_batch_size == 100


def test_construction_does_no_io_even_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    llm = WorkersAI(http_client=no_network())
    assert llm.metadata.context_window == 24000  # a known model: no catalog call
    WorkersAIEmbedding(http_client=no_network())


@pytest.mark.parametrize("name", ["api_token", "api_key"])
def test_token_by_name_or_alias_is_secret(name: str) -> None:
    for obj in (WorkersAI(**{name: SECRET}), WorkersAIEmbedding(**{name: SECRET})):
        assert obj.api_token is not None and obj.api_token.get_secret_value() == SECRET
        for shown in (repr(obj), str(obj), obj.model_dump(), obj.to_dict(), obj.to_json()):
            assert SECRET not in str(shown)
        assert SECRET not in json.dumps(obj.to_payload(), default=str)
        assert "api_token" not in obj.to_dict()


def test_to_payload_names_model_and_temperature() -> None:
    payload = WorkersAI(model="@cf/x/y", temperature=0.4, context_window=100).to_payload()
    assert payload["model"] == payload["model_name"] == "@cf/x/y"
    assert payload["temperature"] == 0.4
    assert payload["class_name"] == "WorkersAI_llm"


def test_round_trip_through_to_dict() -> None:
    llm = WorkersAI(model="@cf/x/y", temperature=0.4, stop="END", context_window=100)
    again = WorkersAI.from_dict(llm.to_dict())
    assert (again.model, again.temperature, again.stop) == ("@cf/x/y", 0.4, ["END"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("temperature", 6), ("max_tokens", 0), ("top_k", 51), ("timeout", 0), ("max_retries", -1)],
)
def test_out_of_range_fields_are_rejected(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        WorkersAI(**{field: value})


def test_embed_batch_size_is_capped_at_the_model_limit() -> None:
    assert WorkersAIEmbedding(embed_batch_size=500).embed_batch_size == 100
    assert WorkersAIEmbedding(embed_batch_size=10).embed_batch_size == 10
    qwen = WorkersAIEmbedding(model_name="@cf/qwen/qwen3-embedding-0.6b")
    assert qwen.embed_batch_size == 32


def magic(input: int) -> int:
    """Magic."""
    return input


def test_prepare_chat_with_tools_leaves_the_history_alone() -> None:
    llm = WorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast")
    history = [ChatMessage(role="user", content="earlier")]
    kwargs = llm._prepare_chat_with_tools(
        [FunctionTool.from_defaults(magic)],
        user_msg="now",
        chat_history=history,
        tool_required=True,
        extra={"lora": "x"},
    )
    assert len(history) == 1
    assert [m.content for m in kwargs["messages"]] == ["earlier", "now"]
    assert kwargs["tool_choice"] == "required"
    assert kwargs["tools"][0]["function"]["name"] == "magic"
    assert kwargs["extra"] == {"lora": "x"}


def test_openai_style_models_get_parallel_tool_calls_merged_with_extra() -> None:
    llm = WorkersAI(model="@cf/qwen/qwen3-30b-a3b-fp8")
    kwargs = llm._prepare_chat_with_tools(
        [FunctionTool.from_defaults(magic)], user_msg="now", extra={"lora": "x"}
    )
    assert kwargs["extra"] == {"parallel_tool_calls": False, "lora": "x"}


def test_get_tool_calls_from_a_text_answer() -> None:
    llm = WorkersAI()
    response = ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content="just text"))
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="just text"):
        llm.get_tool_calls_from_response(response)


def test_plain_http_to_a_remote_host_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="plain http"):
        WorkersAI(base_url="http://example.com/client/v4", api_token=SECRET)
    with pytest.raises(ValueError, match="plain http"):
        WorkersAIEmbedding(base_url="http://example.com/client/v4", api_token=SECRET)


def test_model_kwargs_is_another_name_for_additional_kwargs() -> None:
    assert WorkersAI(model_kwargs={"lora": "x"}).additional_kwargs == {"lora": "x"}
    assert WorkersAI(additional_kwargs={"lora": "y"}).additional_kwargs == {"lora": "y"}


def test_connection_fields_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CF_ACCOUNT_ID", "env-account")
    monkeypatch.setenv("CF_API_TOKEN", SECRET)
    monkeypatch.setenv("WORKERS_AI_GATEWAY_ID", "env-gateway")
    for obj in (WorkersAI(), WorkersAIEmbedding()):
        assert (obj.account_id, obj.gateway_id) == ("env-account", "env-gateway")
        assert obj.api_token is not None and obj.api_token.get_secret_value() == SECRET
        assert SECRET not in obj.to_json()
