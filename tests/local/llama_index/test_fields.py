"""Every field of WorkersAI and WorkersAIEmbedding changes what is sent or done (read back from
the local server's request log)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool

from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI, _metadata
from tests.local.llama_index.conftest import FAMILY_MODELS, local_embedding, local_llm
from workers_ai import APITimeoutError, AuthenticationError, NotFoundError, RateLimitError

if TYPE_CHECKING:
    from workers_ai_local import LocalServer

LEGACY = FAMILY_MODELS["legacy"]
OPENAI = FAMILY_MODELS["openai"]


def run_bodies(server: LocalServer) -> list[dict[str, Any]]:
    return [r["body"] for r in server.requests() if "/ai/run/" in r["path"]]


@pytest.mark.parametrize(
    ("field", "value", "sent"),
    [
        ("temperature", 0.3, {"temperature": 0.3}),
        ("max_tokens", 12, {"max_tokens": 12}),
        ("top_p", 0.5, {"top_p": 0.5}),
        ("top_k", 7, {"top_k": 7}),
        ("seed", 42, {"seed": 42}),
        ("repetition_penalty", 1.1, {"repetition_penalty": 1.1}),
        ("frequency_penalty", 0.2, {"frequency_penalty": 0.2}),
        ("presence_penalty", 0.4, {"presence_penalty": 0.4}),
        ("stop", "END", {"stop": ["END"]}),
        ("stop", ["a", "b"], {"stop": ["a", "b"]}),
        ("additional_kwargs", {"lora": "my-adapter"}, {"lora": "my-adapter"}),
    ],
)
def test_sampling_field_is_sent(server: LocalServer, field: str, value: Any, sent: Any) -> None:
    local_llm(server, **{field: value}).complete("hello")
    (body,) = run_bodies(server)
    assert {k: body[k] for k in sent} == sent


def test_unset_fields_are_not_sent(server: LocalServer) -> None:
    local_llm(server).chat([ChatMessage(role="user", content="hello")])
    (body,) = run_bodies(server)
    assert body == {"messages": [{"role": "user", "content": "hello"}]}


def test_call_kwargs_override_fields(server: LocalServer) -> None:
    llm = local_llm(server, temperature=0.3, additional_kwargs={"lora": "a"})
    llm.complete("hello", temperature=0.9, extra={"raw": True})
    (body,) = run_bodies(server)
    assert body["temperature"] == 0.9
    assert body["lora"] == "a" and body["raw"] is True


def test_unknown_call_option_is_rejected_before_the_network(server: LocalServer) -> None:
    with pytest.raises(ValueError, match="temprature"):
        local_llm(server).complete("hello", temprature=0.5)
    assert run_bodies(server) == []


def test_model_names_the_path(server: LocalServer) -> None:
    local_llm(server, model=OPENAI).complete("hello")
    (request,) = server.requests()
    assert request["path"].endswith(f"/accounts/{server.account_id}/ai/run/{OPENAI}")


def test_account_id_and_base_url_route_the_request(server: LocalServer) -> None:
    with pytest.raises(NotFoundError, match="account id"):
        local_llm(server, account_id="other-account").complete("hello")
    (request,) = server.requests()
    assert request["path"].startswith("/client/v4/accounts/other-account/")


def test_api_token_authenticates(server: LocalServer) -> None:
    with pytest.raises(AuthenticationError):
        local_llm(server, api_token="wrong").complete("hello")
    local_llm(server, api_token=server.token).complete("hello")
    assert [r["auth_ok"] for r in server.requests()] == [False, True]


def test_credentials_from_the_environment(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", server.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", server.token)
    monkeypatch.setenv("WORKERS_AI_BASE_URL", server.base_url)
    assert WorkersAI().complete("hello").text == "Echo: hello"
    assert WorkersAIEmbedding().get_text_embedding("hello")


def test_gateway_id_routes_through_the_gateway(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKERS_AI_GATEWAY_URL", server.gateway_url)
    local_llm(server, gateway_id="my-gateway").complete("hello")
    (request,) = server.requests()
    assert request["gateway_id"] == "my-gateway"
    assert request["path"] == f"/v1/{server.account_id}/my-gateway/workers-ai/{LEGACY}"


def test_timeout_bounds_the_wait(server: LocalServer) -> None:
    server.inject("latency", delay=1.0)
    with pytest.raises(APITimeoutError):
        local_llm(server, timeout=0.1).complete("hello")


def test_max_retries(server: LocalServer) -> None:
    server.inject("rate_limit", count=1, retry_after=0)
    with pytest.raises(RateLimitError):
        local_llm(server, max_retries=0).complete("hello")
    server.inject("rate_limit", count=1, retry_after=0)
    assert local_llm(server, max_retries=1).complete("hello").text == "Echo: hello"


def test_connection_fields_changed_after_first_use_take_effect(server: LocalServer) -> None:
    llm = local_llm(server, account_id="elsewhere")
    with pytest.raises(NotFoundError):
        llm.complete("hello")
    llm.account_id = server.account_id
    assert llm.complete("hello").text == "Echo: hello"
    paths = [r["path"].split("/")[4] for r in server.requests()]
    assert paths == ["elsewhere", server.account_id]


def test_allow_parallel_tool_calls_is_sent_to_openai_style_models(server: LocalServer) -> None:
    def lookup(city: str) -> str:
        """Look a city up."""
        return city

    tool = FunctionTool.from_defaults(lookup)
    local_llm(server, model=OPENAI).chat_with_tools([tool], "hi", allow_parallel_tool_calls=True)
    local_llm(server, model=LEGACY).chat_with_tools([tool], "hi", allow_parallel_tool_calls=True)
    openai_body, legacy_body = run_bodies(server)
    assert openai_body["parallel_tool_calls"] is True
    assert "parallel_tool_calls" not in legacy_body  # legacy models do not know the field


def test_parallel_tool_calls_are_cut_to_one_unless_allowed(server: LocalServer) -> None:
    def lookup_city(city: str) -> str:
        """Look a city up."""
        return city

    def lookup_river(river: str) -> str:
        """Look a river up."""
        return river

    tools = [FunctionTool.from_defaults(lookup_city), FunctionTool.from_defaults(lookup_river)]
    llm = local_llm(server)
    question = "lookup_city and lookup_river for Paris"
    both = llm.chat_with_tools(tools, question, allow_parallel_tool_calls=True)
    one = llm.chat_with_tools(tools, question, allow_parallel_tool_calls=False)
    assert [c.tool_name for c in llm.get_tool_calls_from_response(both)] == [
        "lookup_city",
        "lookup_river",
    ]
    assert [c.tool_name for c in llm.get_tool_calls_from_response(one)] == ["lookup_city"]
    assert len(one.message.additional_kwargs["tool_calls"]) == 1


@pytest.mark.parametrize(
    ("kwargs", "choice"),
    [
        ({}, "auto"),
        ({"tool_required": True}, "required"),
        ({"tool_choice": "magic"}, {"type": "function", "function": {"name": "magic"}}),
        ({"tool_choice": "none", "tool_required": True}, "none"),
    ],
)
def test_tool_choice(server: LocalServer, kwargs: dict[str, Any], choice: Any) -> None:
    def magic(input: int) -> int:
        """Magic."""
        return input

    local_llm(server).chat_with_tools([FunctionTool.from_defaults(magic)], "hi", **kwargs)
    (body,) = run_bodies(server)
    assert body["tool_choice"] == choice
    assert body["tools"][0]["function"]["name"] == "magic"


def test_system_prompt_is_sent_by_predict(server: LocalServer) -> None:
    from llama_index.core.prompts import PromptTemplate

    local_llm(server, system_prompt="Be brief.").predict(PromptTemplate("Say {x}"), x="hi")
    (body,) = run_bodies(server)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi"},
    ]


def test_completion_to_prompt_shapes_unformatted_prompts(server: LocalServer) -> None:
    llm = local_llm(server, completion_to_prompt=lambda p: f"Q: {p}")
    assert llm.complete("hello").text == "Echo: Q: hello"
    assert llm.complete("hello", formatted=True).text == "Echo: hello"


# -- metadata -------------------------------------------------------------------------------------


def test_known_models_need_no_catalog(server: LocalServer) -> None:
    metadata = local_llm(server, model=LEGACY).metadata
    assert (metadata.context_window, metadata.is_function_calling_model) == (24000, True)
    assert server.requests() == []


@pytest.fixture
def newer_model(monkeypatch: pytest.MonkeyPatch) -> str:
    """A model name the package's catalog does not know (as a model newer than it would be)."""
    monkeypatch.setattr(_metadata, "model_spec", lambda name: None)
    return "@cf/meta/llama-3.2-3b-instruct"


def test_other_models_are_looked_up_once_in_the_catalog(
    server: LocalServer, newer_model: str
) -> None:
    llm = local_llm(server, model=newer_model)
    first, second = llm.metadata, llm.metadata
    assert first == second
    searches = [r for r in server.requests() if r["path"].endswith("/ai/models/search")]
    assert len(searches) == 1
    assert searches[0]["query"]["search"] == newer_model


def test_metadata_overrides_skip_the_catalog(server: LocalServer, newer_model: str) -> None:
    llm = local_llm(
        server,
        model=newer_model,
        context_window=8000,
        is_function_calling_model=True,
        max_tokens=100,
    )
    metadata = llm.metadata
    assert (metadata.context_window, metadata.is_function_calling_model) == (8000, True)
    assert metadata.num_output == 100
    assert server.requests() == []


def test_catalog_failure_falls_back_to_defaults(server: LocalServer, newer_model: str) -> None:
    server.inject("server_error", scope="models")
    metadata = local_llm(server, model=newer_model).metadata
    assert metadata.context_window == 3900 and metadata.is_function_calling_model is False


# -- embeddings -----------------------------------------------------------------------------------


def test_embedding_model_name_names_the_path(server: LocalServer) -> None:
    local_embedding(server, model_name="@cf/baai/bge-small-en-v1.5").get_text_embedding("x")
    (request,) = server.requests()
    assert request["path"].endswith("/ai/run/@cf/baai/bge-small-en-v1.5")
    assert request["body"] == {"text": ["x"]}


@pytest.mark.parametrize(
    ("model", "batch_size", "sizes"),
    [
        ("@cf/baai/bge-base-en-v1.5", 100, [100, 100, 50]),
        ("@cf/baai/bge-base-en-v1.5", 1000, [100, 100, 50]),
        ("@cf/baai/bge-base-en-v1.5", 120, [100, 100, 50]),
        ("@cf/baai/bge-base-en-v1.5", 60, [60, 60, 60, 60, 10]),
        ("@cf/qwen/qwen3-embedding-0.6b", 100, [32] * 7 + [26]),
    ],
)
def test_embed_batch_size_never_exceeds_the_model_limit(
    server: LocalServer, model: str, batch_size: int, sizes: list[int]
) -> None:
    embed_model = local_embedding(server, model_name=model, embed_batch_size=batch_size)
    vectors = embed_model.get_text_embedding_batch([f"text {i}" for i in range(250)])
    assert len(vectors) == 250
    assert [len(r["body"]["text"]) for r in server.requests()] == sizes


def test_embed_batch_size_defaults_to_100() -> None:
    assert WorkersAIEmbedding().embed_batch_size == 100


class _InFlight(httpx.AsyncBaseTransport):
    """Counts requests in flight at once."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.now = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("num_workers", [1, 2, 3])
async def test_async_batches_run_concurrently_up_to_num_workers(
    server: LocalServer, num_workers: int
) -> None:
    server.inject("latency", delay=0.05, count=12)  # so that batches overlap
    transport = _InFlight()
    async with httpx.AsyncClient(transport=transport) as client:
        embed_model = local_embedding(
            server, embed_batch_size=2, num_workers=num_workers, async_http_client=client
        )
        vectors = await embed_model.aget_text_embedding_batch([f"t {i}" for i in range(12)])
    assert len(vectors) == 12
    assert len(server.requests()) == 6
    assert transport.most <= max(num_workers, 1)
    if num_workers > 1:
        assert transport.most > 1


def test_an_object_works_across_event_loops(server: LocalServer) -> None:
    """asyncio.run twice on one object: each loop gets its own connections."""
    llm = local_llm(server)
    embed_model = local_embedding(server)
    for _ in range(2):
        assert asyncio.run(llm.acomplete("hello")).text == "Echo: hello"
        assert asyncio.run(embed_model.aget_query_embedding("hello"))


def test_injected_http_clients_are_used(server: LocalServer) -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> None:
        seen.append(request.url.path)

    with httpx.Client(event_hooks={"request": [record]}) as client:
        local_llm(server, http_client=client).complete("hello")
        local_embedding(server, http_client=client).get_text_embedding("hello")
    assert len(seen) == 2


async def test_pickled_objects_still_work(server: LocalServer) -> None:
    """LlamaIndex pickles models (e.g. IngestionPipeline workers); the copy must still call."""
    import pickle

    llm = pickle.loads(pickle.dumps(local_llm(server)))
    embed_model = pickle.loads(pickle.dumps(local_embedding(server)))
    assert llm.complete("hello").text == "Echo: hello"
    assert (await llm.acomplete("hello")).text == "Echo: hello"
    assert embed_model.get_text_embedding("hello")
    assert await embed_model.aget_text_embedding_batch(["a", "b"])
