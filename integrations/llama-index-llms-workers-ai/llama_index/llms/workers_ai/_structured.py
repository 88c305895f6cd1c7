"""Structured output through Workers AI's JSON mode, with a forced tool as the fallback.

``JsonModeLLM`` overrides LlamaIndex's four ``*structured_predict`` methods: in the default
program mode they ask for the output class's JSON schema as ``response_format`` through the
(decorated) chat methods, so callbacks and token counts see exactly one LLM call. A model
without JSON mode (it answers 400, or ignores the format and answers with text that is not JSON)
is asked again through LlamaIndex's own programs: a forced tool call when it can call tools,
else text parsing. Other program modes go to LlamaIndex unchanged.

Workers AI's JSON mode does not stream: the core sends a stream request in JSON mode without
``stream`` (``workers_ai.adapters.sends_stream``), so ``stream_structured_predict`` yields the
whole object at once, as the one chunk the answer comes in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Generator
from functools import lru_cache
from typing import Any, TypeVar, cast

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictInProgressEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.utils import parse_partial_json
from llama_index.core.program.utils import FlexibleModel, create_flexible_model, get_program_for_llm
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import BasePydanticProgram, PydanticProgramMode
from llama_index_instrumentation import get_dispatcher
from pydantic import BaseModel, ValidationError

from workers_ai import BadRequestError, json_response_format

logger = logging.getLogger(__name__)
dispatcher = get_dispatcher(__name__)

Model = TypeVar("Model", bound=BaseModel)


def parse_object(output_cls: type[Model], text: str) -> Model:
    """The whole answer as ``output_cls``; raises ValueError when it does not validate."""
    try:
        parsed: Model = output_cls.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(
            f"Workers AI's JSON-mode answer is not a valid {output_cls.__name__}: {exc}\n"
            f"Answer: {text[:500]!r}"
        ) from exc
    return parsed


def is_json(text: str) -> bool:
    """Whether a JSON-mode answer is JSON at all (if not, the model ignored JSON mode)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def parse_partial_object(output_cls: type[Model], text: str) -> Model | FlexibleModel | None:
    """The answer so far: ``output_cls`` once it validates, else a flexible partial copy, or
    None while nothing can be read yet."""
    try:
        value: Any = parse_partial_json(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    try:
        whole: Model = output_cls.model_validate(value)
    except ValidationError:
        pass
    else:
        return whole
    try:
        return _flexible_model(output_cls).model_validate(value)
    except ValidationError:
        return None


@lru_cache(maxsize=64)
def _flexible_model(output_cls: type[BaseModel]) -> type[FlexibleModel]:
    # One class per output class, so that equal partial objects compare equal.
    return create_flexible_model(output_cls)


class JsonModeLLM(FunctionCallingLLM):
    """A FunctionCallingLLM whose structured output uses JSON mode first."""

    def _structured_messages(
        self, prompt: PromptTemplate, prompt_args: dict[str, Any]
    ) -> list[ChatMessage]:
        return self._extend_messages(prompt.format_messages(llm=self, **prompt_args))

    def _fallback_program(
        self, output_cls: type[Model], prompt: PromptTemplate, why: str
    ) -> BasePydanticProgram[Model]:
        # core-gap: the model catalog does not record which models take JSON mode, so it is
        # tried first and, when refused or ignored, the object is asked for another way.
        tool = self.metadata.is_function_calling_model
        logger.info(
            "%s did not use JSON mode (%s); asking through a %s instead.",
            self.metadata.model_name,
            why,
            "forced tool call" if tool else "text prompt",
        )
        mode = PydanticProgramMode.FUNCTION if tool else PydanticProgramMode.LLM
        return get_program_for_llm(output_cls, prompt, self, pydantic_program_mode=mode)

    def _start(self, output_cls: type[Model], prompt: PromptTemplate, args: dict[str, Any]) -> None:
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=args
            )
        )

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            chosen: Model = super().structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return chosen
        self._start(output_cls, prompt, prompt_args)
        messages = self._structured_messages(prompt, prompt_args)
        try:
            response = self.chat(
                messages, response_format=json_response_format(output_cls), **(llm_kwargs or {})
            )
            text, why = response.message.content or "", "the answer is not JSON"
        except BadRequestError as error:
            text, why = "", error.message
        if is_json(text):
            result = parse_object(output_cls, text)
        else:
            program = self._fallback_program(output_cls, prompt, why)
            result = cast(Model, program(llm_kwargs=llm_kwargs, **prompt_args))
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            chosen: Model = await super().astructured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return chosen
        self._start(output_cls, prompt, prompt_args)
        messages = self._structured_messages(prompt, prompt_args)
        try:
            response = await self.achat(
                messages, response_format=json_response_format(output_cls), **(llm_kwargs or {})
            )
            text, why = response.message.content or "", "the answer is not JSON"
        except BadRequestError as error:
            text, why = "", error.message
        if is_json(text):
            result = parse_object(output_cls, text)
        else:
            program = self._fallback_program(output_cls, prompt, why)
            result = cast(Model, await program.acall(llm_kwargs=llm_kwargs, **prompt_args))
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    def stream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | FlexibleModel, None, None]:
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            yield from super().stream_structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return
        self._start(output_cls, prompt, prompt_args)
        messages = self._structured_messages(prompt, prompt_args)
        text, why, last = "", "the answer is not JSON", None
        try:
            for response in self.stream_chat(
                messages, response_format=json_response_format(output_cls), **(llm_kwargs or {})
            ):
                text = response.message.content or ""
                partial = parse_partial_object(output_cls, text)
                if partial is not None and partial != last:
                    dispatcher.event(LLMStructuredPredictInProgressEvent(output=partial))
                    last = partial
                    yield partial
        except BadRequestError as error:
            if last is not None:
                raise
            why = error.message
        final: Model | FlexibleModel | None = last
        if last is not None or is_json(text):
            final = parse_object(output_cls, text)
            if final != last:
                yield final
        else:
            program = self._fallback_program(output_cls, prompt, why)
            for obj in program.stream_call(llm_kwargs=llm_kwargs, **prompt_args):
                final = cast(Model | FlexibleModel, obj)
                yield final
        if final is not None:
            dispatcher.event(LLMStructuredPredictEndEvent(output=final))

    async def astream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | FlexibleModel, None]:
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return await super().astream_structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )

        async def gen() -> AsyncGenerator[Model | FlexibleModel, None]:
            self._start(output_cls, prompt, prompt_args)
            messages = self._structured_messages(prompt, prompt_args)
            text, why, last = "", "the answer is not JSON", None
            try:
                stream = await self.astream_chat(
                    messages, response_format=json_response_format(output_cls), **(llm_kwargs or {})
                )
                async for response in stream:
                    text = response.message.content or ""
                    partial = parse_partial_object(output_cls, text)
                    if partial is not None and partial != last:
                        dispatcher.event(LLMStructuredPredictInProgressEvent(output=partial))
                        last = partial
                        yield partial
            except BadRequestError as error:
                if last is not None:
                    raise
                why = error.message
            final: Model | FlexibleModel | None = last
            if last is not None or is_json(text):
                final = parse_object(output_cls, text)
                if final != last:
                    yield final
            else:
                program = self._fallback_program(output_cls, prompt, why)
                async for obj in await program.astream_call(llm_kwargs=llm_kwargs, **prompt_args):
                    final = cast(Model | FlexibleModel, obj)
                    yield final
            if final is not None:
                dispatcher.event(LLMStructuredPredictEndEvent(output=final))

        return gen()
