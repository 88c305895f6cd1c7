"""Request options for one call: the model's fields, overridden by the call's keyword arguments.

Pure functions, shared by the sync and async paths and by tool calling and JSON mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from workers_ai import ChatOptions
from workers_ai.adapters import normalize_tool_choice, result_shape


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
    """``tools``/``tool_choice`` for a chat with tools; an explicit ``tool_choice`` wins over
    ``tool_required`` (the core's ``normalize_tool_choice`` maps both)."""
    if not tool_specs:
        return {}
    names = [spec["function"]["name"] for spec in tool_specs if "function" in spec]
    choice = normalize_tool_choice(
        tool_choice, names if len(names) == len(tool_specs) else None, required=tool_required
    )
    options: dict[str, Any] = {"tools": list(tool_specs), "tool_choice": choice}
    if result_shape(model) == "openai":
        # Only the OpenAI-style models know this field; for the others the client keeps the
        # first call (see WorkersAI._validate_chat_with_tools_response).
        options["extra"] = {"parallel_tool_calls": allow_parallel_tool_calls}
    return options
