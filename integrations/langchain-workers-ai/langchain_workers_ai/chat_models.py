"""``ChatWorkersAI``: a LangChain chat model on the Workers AI core client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema
from langchain_core.utils.pydantic import is_basemodel_subclass
from langchain_core.utils.utils import _build_model_kwargs
from pydantic import ConfigDict, Field, model_validator

from workers_ai import (
    DEFAULT_CHAT_MODEL,
    ChatOptions,
    Message,
    estimate_prompt_tokens,
    estimate_text_tokens,
    json_response_format,
    model_spec,
)
from workers_ai.adapters import (  # fields sent under their own names; a call's kwargs win
    FIELD_OPTIONS,
    REASONING_OPTIONS,
    SAMPLING_OPTIONS,
    ConnectionFields,
    Routing,
    normalize_tool_choice,
    pop_routing,
    result_shape,
)

from ._convert import BlockIndexes, ai_message, message_chunk, messages_to_wire, tool_to_wire

_BINDABLE_OPTIONS = ("tools", "tool_choice", "response_format")

StructuredOutputMethod = Literal["json_schema", "function_calling", "json_mode"]


@dataclass(frozen=True)
class _Call:
    """One request, ready for the core: what is sent and whether usage is reported."""

    model: str
    messages: list[Message]
    options: ChatOptions
    stream_usage: bool
    routing: Routing
    """A call's ``fallback_models=`` and ``gateway=`` (the fields' values otherwise)."""


class ChatWorkersAI(BaseChatModel, ConnectionFields):
    """Cloudflare Workers AI chat models (``/ai/run/{model}``), sync and async, streaming.

    Credentials come from the arguments or the environment (``CLOUDFLARE_ACCOUNT_ID``,
    ``CLOUDFLARE_API_TOKEN``, also ``CF_ACCOUNT_ID`` / ``CF_API_TOKEN``; ``WORKERS_AI_BASE_URL``;
    ``WORKERS_AI_GATEWAY_ID``). Construction does no I/O; one connection pool is opened on first
    use and shared by every later call of this object. ``http_client=`` (an ``httpx.Client``)
    and ``async_http_client=`` (an ``httpx.AsyncClient``) carry every request instead; they
    stay yours to close.

    Streaming in JSON mode (a ``response_format``, as ``with_structured_output`` binds): Workers
    AI's JSON mode does not stream, so the core sends the request without ``stream`` and the
    whole answer arrives as one chunk.

    ```python
    from langchain_workers_ai import ChatWorkersAI

    llm = ChatWorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", temperature=0)
    llm.invoke("Hello").content
    ```
    """

    model_config = ConfigDict(populate_by_name=True)

    model: str = DEFAULT_CHAT_MODEL
    """Workers AI model name, e.g. ``@cf/meta/llama-3.3-70b-instruct-fp8-fast``."""
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    """Most tokens to generate (Workers AI's own default is 256 on many models)."""
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    stop: list[str] | None = None
    """Stop sequences, sent with every call unless the call passes its own."""
    reasoning_effort: str | None = None
    """How hard a reasoning model thinks (e.g. ``"low"``; gpt-oss: low, medium, high): one of
    the efforts the model's catalog entry lists, checked before the network."""
    thinking: bool | None = None
    """Turn a reasoning model's thinking on or off (its ``chat_template_kwargs`` switch, e.g.
    kimi-k2.6's ``thinking``); None leaves the model's default."""
    streaming: bool = False
    """Stream underneath ``invoke`` too (callbacks then see every delta)."""
    stream_usage: bool = True
    """Report token usage on the last streamed chunk."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request fields, sent as they are (e.g. ``{"lora": "my-adapter"}``)."""

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        """Unknown keyword arguments go to ``model_kwargs``, with a warning."""
        if not isinstance(values, dict):
            return values
        known = set()
        for name, info in cls.model_fields.items():
            known.add(name)
            if info.alias:
                known.add(info.alias)
        return _build_model_kwargs(dict(values), known)

    @property
    def _llm_type(self) -> str:
        return "workers-ai-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_token": "CLOUDFLARE_API_TOKEN"}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        names = ("model", *FIELD_OPTIONS)
        params = {name: getattr(self, name) for name in names}
        return {**params, **self.model_kwargs}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="cloudflare_workers_ai",
            ls_model_name=kwargs.get("model") or self.model,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop := stop or self.stop:
            params["ls_stop"] = stop
        return params

    # -- requests (shared by the four entry points) ---------------------------------------------

    def _call(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Call:
        kwargs = dict(kwargs)
        kwargs.pop("stream", None)  # LangChain's own switch, not a request field
        routing = pop_routing(kwargs)
        model = kwargs.pop("model", None) or self.model
        stream_usage = bool(kwargs.pop("stream_usage", self.stream_usage))
        options: ChatOptions = {}
        for name in (*SAMPLING_OPTIONS, *REASONING_OPTIONS):  # stop: the argument or field
            value = kwargs.pop(name, getattr(self, name))
            if value is not None:
                options[name] = value  # type: ignore[literal-required]
        if stops := (stop if stop is not None else self.stop):
            options["stop"] = list(stops)
        for name in _BINDABLE_OPTIONS:
            value = kwargs.pop(name, None)
            if value is not None:
                options[name] = value  # type: ignore[literal-required]
        extra = {**self.model_kwargs, **kwargs}
        if not stream_usage and result_shape(model) == "openai":
            extra["stream_options"] = {"include_usage": False}
        if extra:
            options["extra"] = extra
        return _Call(model, messages_to_wire(messages), options, stream_usage, routing)

    @staticmethod
    def _result(message: AIMessage) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=message)])

    # -- the four entry points -------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._call(messages, stop, kwargs)
        answer = self.sync_client().chat(call.model, call.messages, **call.routing, **call.options)
        return self._result(ai_message(answer))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._call(messages, stop, kwargs)
        answer = await self.async_client().chat(
            call.model, call.messages, **call.routing, **call.options
        )
        return self._result(ai_message(answer))

    # LangChain's stream()/invoke() report each yielded chunk to on_llm_new_token themselves.
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._call(messages, stop, kwargs)
        client = self.sync_client()
        # In JSON mode the core sends no stream=true (Workers AI's JSON mode does not stream)
        # and yields the whole answer as one chunk.
        chunks = client.stream_chat(call.model, call.messages, **call.routing, **call.options)
        indexes = BlockIndexes(self.output_version == "v1")
        for chunk in chunks:
            message = message_chunk(
                chunk, include_usage=call.stream_usage, tool_index_offset=indexes.offset(chunk)
            )
            yield ChatGenerationChunk(message=message)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._call(messages, stop, kwargs)
        client = self.async_client()
        # One whole-answer chunk in JSON mode, as above.
        chunks = client.stream_chat(call.model, call.messages, **call.routing, **call.options)
        indexes = BlockIndexes(self.output_version == "v1")
        async for chunk in chunks:
            message = message_chunk(
                chunk, include_usage=call.stream_usage, tool_index_offset=indexes.offset(chunk)
            )
            yield ChatGenerationChunk(message=message)

    # -- tools and structured output -------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` to the model; ``tool_choice`` may be ``"auto"``, ``"none"``,
        ``"any"``/``"required"``, a tool's name, ``True`` (the only tool) or an OpenAI dict.
        Other keyword arguments are bound as they are."""
        formatted = [tool_to_wire(tool) for tool in tools]
        if strict is not None:
            for tool in formatted:
                tool["function"]["strict"] = strict
        if tool_choice is not None:
            names = [tool["function"]["name"] for tool in formatted]
            kwargs["tool_choice"] = normalize_tool_choice(tool_choice, names)
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredOutputMethod = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Answers as ``schema`` (Pydantic class, TypedDict or JSON Schema).

        ``json_schema`` (default) uses Workers AI JSON mode constrained by the schema;
        ``function_calling`` forces a call of a tool shaped like the schema; ``json_mode`` asks
        for any JSON object (describe the shape in the prompt; ``schema`` then only parses).
        """
        if kwargs:
            raise ValueError(f"Unexpected keyword arguments: {sorted(kwargs)}")
        if schema is None and method != "json_mode":
            raise ValueError(f"method={method!r} needs a schema")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        trace_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        llm: Runnable[LanguageModelInput, AIMessage]
        parser: Runnable[Any, Any]
        if method == "function_calling":
            assert schema is not None
            tool = tool_to_wire(schema)
            name = tool["function"]["name"]
            llm = self.bind_tools(
                [schema], tool_choice=name, strict=strict, ls_structured_output_format=trace_format
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            llm = self.bind(
                response_format=_response_format(schema, method, strict),
                ls_structured_output_format=trace_format,
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"method must be 'json_schema', 'function_calling' or 'json_mode', got {method!r}"
            )
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        no_parse = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks(
            [no_parse], exception_key="parsing_error"
        )

    def _resolve_model_profile(self) -> ModelProfile | None:
        """What LangChain's ``llm.profile`` reports for a chat model of the catalog: context
        window (``max_input_tokens``), image input, tool calling, reasoning and its efforts."""
        spec = model_spec(self.model)
        if spec is None or spec.task != "Text Generation":
            return None
        profile = ModelProfile(
            text_inputs=True,
            text_outputs=True,
            image_inputs=spec.image_parts,
            tool_calling=spec.function_calling,
            reasoning_output=spec.reasoning is not None,
        )
        if spec.context_window is not None:
            profile["max_input_tokens"] = spec.context_window
        if spec.reasoning is not None and spec.reasoning.efforts:
            profile["reasoning_effort_levels"] = list(spec.reasoning.efforts)
            if spec.reasoning.default is not None:
                profile["reasoning_effort_default"] = spec.reasoning.default
        if spec.deprecation is not None:
            profile["status"] = "deprecated"
        return profile

    # -- token counting (an estimate on the high side: safe to trim to) -------------------------

    def get_num_tokens(self, text: str) -> int:
        """Tokens ``text`` takes, estimated on the high side without a tokenizer download
        (``workers_ai.estimate_text_tokens``); ``custom_get_token_ids`` wins when set."""
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return estimate_text_tokens(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Prompt tokens these messages (and tool schemas) take as sent: text, images, tool
        calls and each message's template overhead, estimated on the high side. Use it with
        ``trim_messages(..., token_counter=llm)`` to fit a model's context window."""
        if self.custom_get_token_ids is not None:
            return super().get_num_tokens_from_messages(messages, tools)
        wire_tools = [tool_to_wire(tool) for tool in tools] if tools else None
        return estimate_prompt_tokens(messages_to_wire(messages), wire_tools)


def _response_format(
    schema: dict[str, Any] | type | None, method: StructuredOutputMethod, strict: bool | None
) -> dict[str, Any]:
    if method == "json_mode" or schema is None:
        return json_response_format()
    return json_response_format(convert_to_json_schema(schema), strict=strict)
