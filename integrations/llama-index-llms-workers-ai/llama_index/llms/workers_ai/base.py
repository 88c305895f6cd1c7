"""``WorkersAI``: Cloudflare Workers AI chat models as a LlamaIndex ``FunctionCallingLLM``.

Each public method is decorated (callbacks, instrumentation, rate limiting) and delegates to an
undecorated private one, so one call is counted once: ``complete`` runs ``_chat``, never ``chat``.
Conversions live in ``_convert``, request options in ``_options``, JSON mode in ``_structured``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr, field_validator, model_validator
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.llm import ToolSelection
from pydantic import AliasChoices

from workers_ai import DEFAULT_CHAT_MODEL, ChatOptions, ModelInfo
from workers_ai.adapters import (
    FIELD_OPTIONS,
    ConnectionFields,
    Routing,
    pop_routing,
    refuse_unknown_arguments,
)

from ._convert import (
    StreamAccumulator,
    chat_response,
    completion_response,
    first_tool_call_only,
    to_core_messages,
    tool_selections,
)
from ._metadata import Capabilities, lookup_capabilities
from ._options import chat_options, tool_options
from ._structured import JsonModeLLM

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool


class WorkersAI(JsonModeLLM, ConnectionFields):
    """Cloudflare Workers AI chat models.

    Credentials come from ``account_id=``/``api_token=`` or from CLOUDFLARE_ACCOUNT_ID and
    CLOUDFLARE_API_TOKEN; ``base_url=`` (or WORKERS_AI_BASE_URL) points it at another server,
    such as ``workers-ai serve``. ``http_client=`` (an ``httpx.Client``) and
    ``async_http_client=`` (an ``httpx.AsyncClient``) carry every request instead; they stay
    yours to close. In JSON mode (``response_format=``, structured output) a stream comes as
    one chunk holding the whole answer: Workers AI's JSON mode does not stream.

        from llama_index.llms.workers_ai import WorkersAI

        llm = WorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast")
        print(llm.complete("Name three rivers in Europe."))
    """

    model: str = Field(default=DEFAULT_CHAT_MODEL, description="The Workers AI model name.")
    temperature: float | None = Field(
        default=None, ge=0, le=5, description="Sampling temperature; None keeps the model's."
    )
    max_tokens: int | None = Field(
        default=None, gt=0, description="Most tokens to generate; None keeps the model's (256)."
    )
    top_p: float | None = Field(default=None, ge=0, le=2, description="Nucleus sampling.")
    top_k: int | None = Field(default=None, ge=1, le=50, description="Top-k sampling.")
    seed: int | None = Field(default=None, ge=1, description="Random seed.")
    repetition_penalty: float | None = Field(default=None, ge=0, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: list[str] | None = Field(default=None, description="Stop sequences.")
    reasoning_effort: str | None = Field(
        default=None,
        description="How hard a reasoning model thinks: one of the efforts its catalog entry "
        "lists (gpt-oss: low, medium, high), checked before the network.",
    )
    thinking: bool | None = Field(
        default=None,
        description="Turn a reasoning model's thinking on or off (its chat_template_kwargs "
        "switch, e.g. kimi-k2.6's thinking); None keeps the model's default.",
    )
    context_window: int | None = Field(
        default=None, gt=0, description="Overrides the model's known context window."
    )
    is_function_calling_model: bool | None = Field(
        default=None, description="Overrides whether the model is known to call tools."
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        # model_kwargs is the LangChain class's name for the same thing.
        validation_alias=AliasChoices("additional_kwargs", "model_kwargs"),
        description="Extra request body fields, sent as they are (e.g. {'lora': 'my-adapter'}).",
    )

    _capabilities: tuple[str, Capabilities] | None = PrivateAttr(default=None)

    # A misspelt argument is refused, not dropped: LlamaIndex classes have no place that would
    # carry it (LangChain's model_kwargs warning has no LlamaIndex counterpart), and a silently
    # ignored temprature=0.1 changes answers without a word.
    @model_validator(mode="before")
    @classmethod
    def _known_arguments_only(cls, data: Any) -> Any:
        refuse_unknown_arguments(
            cls, data, "request fields the class has no field for go in additional_kwargs={...}"
        )
        return data

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAI_llm"

    # -- what the model is ------------------------------------------------------------------------

    def _model_capabilities(self) -> Capabilities:
        """Known-model table, else one catalog search per model name (cached)."""
        if self.context_window is not None and self.is_function_calling_model is not None:
            return Capabilities(self.context_window, self.is_function_calling_model)
        if self._capabilities is None or self._capabilities[0] != self.model:
            found = lookup_capabilities(self.model, self._search_catalog)
            self._capabilities = (self.model, found)
        return self._capabilities[1]

    def _search_catalog(self, model: str) -> list[ModelInfo]:
        return self.sync_client().models(search=model)

    @property
    def metadata(self) -> LLMMetadata:
        found = self._model_capabilities()
        function_calling = self.is_function_calling_model
        return LLMMetadata(
            context_window=self.context_window or found.context_window or DEFAULT_CONTEXT_WINDOW,
            num_output=self.max_tokens or DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=(
                found.function_calling if function_calling is None else function_calling
            ),
            model_name=self.model,
        )

    def to_payload(self) -> dict[str, Any]:
        """What callbacks and instrumentation see: metadata plus model and temperature."""
        return {**super().to_payload(), "model": self.model, "temperature": self.temperature}

    # -- plumbing ---------------------------------------------------------------------------------

    def _options(self, call_kwargs: dict[str, Any]) -> tuple[Routing, ChatOptions]:
        """A call's routing (``fallback_models=``, ``gateway=``) and its request options."""
        call_kwargs = dict(call_kwargs)
        routing = pop_routing(call_kwargs)
        # The fields sent as request options under their own names (None is not sent).
        defaults = {name: getattr(self, name) for name in FIELD_OPTIONS}
        return routing, chat_options(defaults, self.additional_kwargs, call_kwargs)

    def _prompt_messages(self, prompt: str, formatted: bool) -> list[ChatMessage]:
        if not formatted and self.completion_to_prompt is not None:
            prompt = self.completion_to_prompt(prompt)
        return [ChatMessage(role=MessageRole.USER, content=prompt)]

    # -- the undecorated calls --------------------------------------------------------------------

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        routing, options = self._options(kwargs)
        messages_ = to_core_messages(messages)
        return chat_response(self.sync_client().chat(self.model, messages_, **routing, **options))

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        routing, options = self._options(kwargs)
        client = self.sync_client()
        chunks = client.stream_chat(self.model, to_core_messages(messages), **routing, **options)

        def gen() -> ChatResponseGen:
            answer = StreamAccumulator()
            for chunk in chunks:
                yield answer.feed(chunk)

        return gen()

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        routing, options = self._options(kwargs)
        client = self.async_client()
        answer = await client.chat(self.model, to_core_messages(messages), **routing, **options)
        return chat_response(answer)

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        routing, options = self._options(kwargs)
        client = self.async_client()
        chunks = client.stream_chat(self.model, to_core_messages(messages), **routing, **options)

        async def gen() -> ChatResponseAsyncGen:
            answer = StreamAccumulator()
            async for chunk in chunks:
                yield answer.feed(chunk)

        return gen()

    # -- the eight public methods -----------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, **kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, **kwargs)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return completion_response(self._chat(self._prompt_messages(prompt, formatted), **kwargs))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        responses = self._stream_chat(self._prompt_messages(prompt, formatted), **kwargs)

        def gen() -> CompletionResponseGen:
            for response in responses:
                yield completion_response(response)

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, **kwargs)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return await self._astream_chat(messages, **kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        messages = self._prompt_messages(prompt, formatted)
        return completion_response(await self._achat(messages, **kwargs))

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        responses = await self._astream_chat(self._prompt_messages(prompt, formatted), **kwargs)

        async def gen() -> CompletionResponseAsyncGen:
            async for response in responses:
                yield completion_response(response)

        return gen()

    # -- tools ------------------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Keyword arguments for ``chat``: the messages, the tools and how to choose them."""
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        options = tool_options(
            self.model,
            specs,
            tool_choice=tool_choice,
            tool_required=tool_required,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
        )
        extra = {**options.pop("extra", {}), **kwargs.pop("extra", {})}
        if extra:
            options["extra"] = extra
        return {"messages": messages, **options, **kwargs}

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        return response if allow_parallel_tool_calls else first_tool_call_only(response)

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """The answer's tool calls (whole, or as far as a stream has got)."""
        selections = tool_selections(response.message)
        if not selections and error_on_no_tool_call:
            raise ValueError(
                f"Expected {self.model} to call a tool, but it answered with text: "
                f"{(response.message.content or '')[:200]!r}"
            )
        return selections
