"""Request options for one call: the model's fields, overridden by the call's keyword arguments.

Pure functions, shared by the sync and async paths and by tool calling and JSON mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from pydantic import BaseModel

from workers_ai import ChatOptions
from workers_ai._catalog import result_shape
from workers_ai._request import SAMPLING_OPTIONS

# WorkersAI fields sent as request options under their own names (None is not sent).
SAMPLING_FIELDS = (*SAMPLING_OPTIONS, "stop", "reasoning_effort", "thinking")


def chat_options(
    defaults: Mapping[str, Any],
    additional_kwargs: Mapping[str, Any],
    call_kwargs: Mapping[str, Any],
) -> ChatOptions:
    """``defaults`` are the model's sampling fields, ``additional_kwargs`` extra body fields sent
    as they are, ``call_kwargs`` one call's options (a name the core does not know raises its
    InvalidRequestError before the network; ``extra={...}`` sends arbitrary fields)."""
    options: dict[str, Any] = {k: v for k, v in defaults.items() if v is not None}
    extra = dict(additional_kwargs)
    for name, value in call_kwargs.items():
        if name == "extra":
            extra.update(value or {})
        else:
            options[name] = value
    if extra:
        options["extra"] = extra
    return cast(ChatOptions, options)


def tool_options(
    model: str,
    tool_specs: Sequence[Mapping[str, Any]],
    *,
    tool_choice: str | Mapping[str, Any] | None,
    tool_required: bool,
    allow_parallel_tool_calls: bool,
) -> dict[str, Any]:
    """``tools``/``tool_choice`` for a chat with tools; an explicit ``tool_choice`` wins."""
    if not tool_specs:
        return {}
    choice = tool_choice if tool_choice is not None else ("required" if tool_required else "auto")
    options: dict[str, Any] = {"tools": list(tool_specs), "tool_choice": choice}
    if result_shape(model) == "openai":
        # Only the OpenAI-style models know this field; for the others the client keeps the
        # first call (see WorkersAI._validate_chat_with_tools_response).
        options["extra"] = {"parallel_tool_calls": allow_parallel_tool_calls}
    return options


def json_schema_format(output_cls: type[BaseModel]) -> dict[str, Any]:
    """JSON mode for ``output_cls``; the core sends the schema in the form the model expects."""
    return {
        "type": "json_schema",
        "json_schema": {
            # OpenAI-style models take names matching ^[a-zA-Z0-9_-]+$ (not "Page[int]").
            "name": re.sub(r"[^a-zA-Z0-9_-]", "_", output_cls.__name__),
            "schema": output_cls.model_json_schema(),
        },
    }
