"""ChatWorkersAI and WorkersAIEmbeddings without a network: construction, settings, binding."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.load import dumps
from langchain_core.runnables import RunnableBinding, RunnableSequence
from pydantic import BaseModel, SecretStr

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from workers_ai import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL

TOKEN = "s3cr3t-token-value"


class Joke(BaseModel):
    """A joke."""

    setup: str
    punchline: str


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "CLOUDFLARE_ACCOUNT_ID",
        "CF_ACCOUNT_ID",
        "CLOUDFLARE_API_TOKEN",
        "CF_API_TOKEN",
        "WORKERS_AI_BASE_URL",
        "WORKERS_AI_GATEWAY_ID",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_come_from_the_core() -> None:
    assert ChatWorkersAI().model == DEFAULT_CHAT_MODEL
    assert WorkersAIEmbeddings().model == DEFAULT_EMBEDDING_MODEL
    assert WorkersAIEmbeddings().batch_size == 100


def test_construction_opens_no_connection_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an httpx client was created at construction")

    monkeypatch.setattr(httpx.Client, "__init__", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "__init__", refuse)
    ChatWorkersAI(account_id="a", api_token="t")
    WorkersAIEmbeddings(account_id="a", api_token="t")


def sync_client(llm: ChatWorkersAI) -> Any:
    return llm.sync_client()


def test_the_sync_client_is_made_once_and_reused() -> None:
    llm = ChatWorkersAI(account_id="a", api_token="t")
    first = sync_client(llm)
    assert sync_client(llm) is first
    llm.close()
    assert sync_client(llm) is not first


def test_changed_settings_get_new_clients_and_unchanged_ones_keep_theirs() -> None:
    llm = ChatWorkersAI(account_id="a", api_token="t")
    first = sync_client(llm)
    llm.temperature = 0.5  # not a connection setting
    assert sync_client(llm) is first
    llm.timeout = 5.0
    assert sync_client(llm) is not first
    assert sync_client(llm)._timeout.read == 5.0
    copy = llm.model_copy(update={"base_url": "http://127.0.0.1:1234/client/v4"})
    assert sync_client(copy).config.base_url == "http://127.0.0.1:1234/client/v4"
    assert sync_client(llm).config.base_url == "https://api.cloudflare.com/client/v4"


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CF_ACCOUNT_ID", "acct-cf")
    monkeypatch.setenv("CF_API_TOKEN", "tok-cf")
    llm = ChatWorkersAI()
    assert llm.account_id == "acct-cf"
    assert llm.api_token is not None and llm.api_token.get_secret_value() == "tok-cf"
    # The CLOUDFLARE_ names win over the CF_ ones, as in the core.
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "tok-cloudflare")
    assert ChatWorkersAI().api_token == SecretStr("tok-cloudflare")


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "from-env")
    assert ChatWorkersAI(account_id="from-arg").account_id == "from-arg"


def test_api_key_is_an_alias_of_api_token() -> None:
    llm = ChatWorkersAI(api_key=TOKEN)
    assert llm.api_token == SecretStr(TOKEN)
    embeddings = WorkersAIEmbeddings(api_key=TOKEN)
    assert embeddings.api_token == SecretStr(TOKEN)


def test_a_token_is_never_sent_over_plain_http_to_another_host() -> None:
    with pytest.raises(ValueError, match="plain http"):
        ChatWorkersAI(base_url="http://example.com/client/v4", api_token=TOKEN)
    with pytest.raises(ValueError, match="plain http"):
        WorkersAIEmbeddings(base_url="http://example.com/client/v4", api_token=TOKEN)


def test_unknown_keyword_arguments_go_to_model_kwargs_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="lora"):
        llm = ChatWorkersAI(lora="my-adapter")
    assert llm.model_kwargs == {"lora": "my-adapter"}


def test_declared_fields_passed_in_model_kwargs_are_moved_out() -> None:
    with pytest.warns(UserWarning, match="temperature"):
        llm = ChatWorkersAI(model_kwargs={"temperature": 0.3})
    assert llm.temperature == 0.3
    assert llm.model_kwargs == {}


def test_embeddings_refuse_unknown_arguments() -> None:
    with pytest.raises(ValueError, match="dimensions"):
        WorkersAIEmbeddings(dimensions=128)  # type: ignore[call-arg]


@pytest.mark.parametrize("value", [0, -1])
def test_bad_numbers_are_refused(value: int) -> None:
    with pytest.raises(ValueError):
        ChatWorkersAI(max_tokens=value)
    with pytest.raises(ValueError):
        WorkersAIEmbeddings(batch_size=value)


def test_the_token_is_absent_from_repr_str_and_serialized_forms() -> None:
    llm = ChatWorkersAI(api_token=TOKEN, account_id="acct")
    embeddings = WorkersAIEmbeddings(api_token=TOKEN, account_id="acct")
    for obj in (llm, embeddings):
        for text in (
            repr(obj),
            str(obj),
            dumps(obj),
            obj.model_dump_json(),
            repr(obj.model_dump()),
        ):
            assert TOKEN not in text
    assert llm.lc_secrets == {"api_token": "CLOUDFLARE_API_TOKEN"}
    assert TOKEN not in repr(sync_client(llm))


def test_ls_params_name_the_provider_and_the_per_call_model() -> None:
    llm = ChatWorkersAI(model="@cf/meta/llama-3.1-8b-instruct-fp8", temperature=0.2, max_tokens=50)
    params = llm._get_ls_params(stop=["x"])
    assert params == {
        "ls_provider": "cloudflare_workers_ai",
        "ls_model_name": "@cf/meta/llama-3.1-8b-instruct-fp8",
        "ls_model_type": "chat",
        "ls_temperature": 0.2,
        "ls_max_tokens": 50,
        "ls_stop": ["x"],
    }
    assert llm._get_ls_params(model="@cf/other")["ls_model_name"] == "@cf/other"


def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


def test_bind_tools_formats_tools_and_passes_other_kwargs_to_bind() -> None:
    bound = ChatWorkersAI().bind_tools(
        [multiply, Joke], tool_choice="any", parallel_tool_calls=False
    )
    assert isinstance(bound, RunnableBinding)
    assert [t["function"]["name"] for t in bound.kwargs["tools"]] == ["multiply", "Joke"]
    assert bound.kwargs["tool_choice"] == "required"
    assert bound.kwargs["parallel_tool_calls"] is False


def test_bind_tools_strict_marks_every_function() -> None:
    bound = ChatWorkersAI().bind_tools([multiply], strict=True)
    assert isinstance(bound, RunnableBinding)
    assert bound.kwargs["tools"][0]["function"]["strict"] is True
    assert "tool_choice" not in bound.kwargs


def _bound_kwargs(runnable: Any) -> dict[str, Any]:
    assert isinstance(runnable, RunnableSequence)
    first = runnable.first
    assert isinstance(first, RunnableBinding)
    return dict(first.kwargs)


def test_structured_output_json_schema_binds_a_response_format() -> None:
    kwargs = _bound_kwargs(ChatWorkersAI().with_structured_output(Joke, strict=True))
    fmt = kwargs["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Joke"
    assert fmt["json_schema"]["strict"] is True
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"setup", "punchline"}
    assert kwargs["ls_structured_output_format"]["kwargs"] == {
        "method": "json_schema",
        "strict": True,
    }


def test_structured_output_json_mode_and_function_calling() -> None:
    json_mode = _bound_kwargs(ChatWorkersAI().with_structured_output(Joke, method="json_mode"))
    assert json_mode["response_format"] == {"type": "json_object"}
    calling = _bound_kwargs(ChatWorkersAI().with_structured_output(Joke, method="function_calling"))
    assert calling["tool_choice"] == {"type": "function", "function": {"name": "Joke"}}
    assert calling["tools"][0]["function"]["name"] == "Joke"


def test_structured_output_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        ChatWorkersAI().with_structured_output(Joke, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a schema"):
        ChatWorkersAI().with_structured_output(None)
    with pytest.raises(ValueError, match="Unexpected"):
        ChatWorkersAI().with_structured_output(Joke, mode="fast")


def test_json_mode_without_a_schema_parses_to_a_dict() -> None:
    runnable = ChatWorkersAI().with_structured_output(None, method="json_mode")
    assert _bound_kwargs(runnable)["response_format"] == {"type": "json_object"}
    assert json.loads('{"a": 1}') == runnable.last.invoke('{"a": 1}')  # type: ignore[attr-defined]
