"""What a chat call asks for, in the wire's terms: the options, tools and ``tool_choice``, JSON
mode's ``response_format``. Pure functions, shared by the chat and Responses request builders."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from typing_extensions import TypedDict

from .errors import InvalidRequestError


class ChatOptions(TypedDict, total=False):
    """Options of a chat call; each maps to one request field (``extra`` is merged as is)."""

    temperature: float | None
    max_tokens: int | None
    top_p: float | None
    top_k: int | None
    seed: int | None
    repetition_penalty: float | None
    frequency_penalty: float | None
    presence_penalty: float | None
    stop: str | Sequence[str] | None
    tools: Sequence[Mapping[str, Any]] | None
    tool_choice: str | Mapping[str, Any] | None
    response_format: Mapping[str, Any] | None
    raw: bool | None
    lora: str | None
    reasoning_effort: str | None
    """How hard a reasoning model thinks: one of the efforts its catalog entry lists."""
    thinking: bool | None
    """Turn a reasoning model's thinking on or off (``chat_template_kwargs``)."""
    extra: Mapping[str, Any] | None


def normalize_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool in OpenAI form; the flat form ``{name, description, parameters}`` is accepted."""
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
        function = dict(tool["function"])
    elif "name" in tool:
        function = {k: v for k, v in tool.items() if k in ("name", "description", "parameters")}
    else:
        raise InvalidRequestError(f"A tool needs a name: {dict(tool)!r}")
    if not isinstance(function.get("name"), str) or not function["name"]:
        raise InvalidRequestError(f"A tool needs a name: {dict(tool)!r}")
    function.setdefault("parameters", {"type": "object", "properties": {}})
    return {"type": "function", "function": function}


_CHOICE_KEYWORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def normalize_tool_choice(
    choice: str | bool | Mapping[str, Any] | None,
    tool_names: Sequence[str] | None = None,
    *,
    required: bool = False,
) -> str | dict[str, Any]:
    """``tool_choice`` in the form the wire takes: ``"auto"``, ``"none"``, ``"required"`` or
    ``{"type": "function", "function": {"name": ...}}``.

    Takes what LangChain and LlamaIndex users write: ``"auto"``, ``"none"``, ``"required"``,
    ``"any"`` (= required), a tool's name, ``True`` (the only tool), ``False`` (none), an OpenAI
    dict, or a flat ``{"name": ...}`` / ``{"type": "function" | "tool", "name": ...}`` dict.
    ``None`` is ``"required"`` when ``required`` (LlamaIndex's ``tool_required``), else ``"auto"``.
    With ``tool_names`` (the tools sent along), a named tool must be one of them.
    """
    if choice is None:
        return "required" if required else "auto"
    if choice is True:
        if tool_names is None or len(tool_names) != 1:
            raise InvalidRequestError("tool_choice=True needs exactly one tool")
        return _named_tool_choice(tool_names[0], tool_names)
    if choice is False:
        return "none"
    if isinstance(choice, str):
        keyword = _CHOICE_KEYWORDS.get(choice)
        return keyword if keyword is not None else _named_tool_choice(choice, tool_names)
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping):
            _named_tool_choice(function.get("name"), tool_names)  # checked, sent as it is
            return dict(choice)
        if "name" in choice:
            return _named_tool_choice(choice.get("name"), tool_names)
        keyword = _CHOICE_KEYWORDS.get(str(choice.get("type")))
        if keyword is not None:  # {"type": "auto"}, Anthropic's {"type": "any"}
            return keyword
    raise InvalidRequestError(
        f"tool_choice {choice!r} is neither 'auto', 'none', 'any', 'required', a tool's name "
        "nor {'type': 'function', 'function': {'name': ...}}"
    )


def _named_tool_choice(name: Any, tool_names: Sequence[str] | None) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(f"tool_choice names no tool: {name!r}")
    if tool_names is not None and name not in tool_names:
        raise InvalidRequestError(
            f"tool_choice {name!r} is neither 'auto', 'none', 'any', 'required' nor one of "
            f"the tools sent ({', '.join(tool_names) or 'none'})"
        )
    return {"type": "function", "function": {"name": name}}


# Cloudflare's OpenAI-style models (and OpenAI's API) take json_schema names of at most 64 of
# these characters; anything else in a name (a generic's "Page[int]", a title's spaces) is "_".
SCHEMA_NAME_MAX = 64
_SCHEMA_NAME_REFUSED = re.compile(r"[^a-zA-Z0-9_-]")
DEFAULT_SCHEMA_NAME = "response"


def schema_name(name: Any) -> str:
    """A JSON-mode schema name the wire takes: ``[a-zA-Z0-9_-]``, at most 64 characters."""
    cleaned = _SCHEMA_NAME_REFUSED.sub("_", str(name or ""))[:SCHEMA_NAME_MAX]
    return cleaned or DEFAULT_SCHEMA_NAME


def split_json_schema(spec: Any) -> tuple[str, dict[str, Any], bool | None]:
    """(name, bare schema, strict) from a bare schema or OpenAI's {name, schema, strict}; the
    name is the envelope's, else the schema's ``title``, else "response", made one the wire
    takes (:func:`schema_name`)."""
    if not isinstance(spec, Mapping):
        raise InvalidRequestError("response_format json_schema must be a JSON Schema object")
    if isinstance(spec.get("schema"), Mapping) and "properties" not in spec:
        strict = spec.get("strict")
        return schema_name(spec.get("name")), dict(spec["schema"]), strict
    return schema_name(spec.get("title")), dict(spec), None


def json_response_format(
    schema: Mapping[str, Any] | type[BaseModel] | None = None,
    *,
    name: str | None = None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """The ``response_format`` option of JSON mode: answers as ``schema``.

    ``schema`` is a JSON Schema, OpenAI's ``{name, schema, strict}``, or a pydantic model class
    (its ``model_json_schema()``); None asks for any JSON object (``{"type": "json_object"}``).
    The name is ``name``, else the envelope's or the schema's ``title``, else "response", made
    one the wire takes (``[a-zA-Z0-9_-]``, at most 64 characters). The result is OpenAI's
    envelope ``{"type": "json_schema", "json_schema": {name, schema, strict}}``; a request
    sends it in the form its model takes (native models: the bare schema).
    """
    if schema is None:
        return {"type": "json_object"}
    if isinstance(schema, type):
        if not issubclass(schema, BaseModel):
            raise InvalidRequestError(
                f"json_response_format takes a JSON Schema or a pydantic model class, "
                f"got {schema!r}"
            )
        schema = schema.model_json_schema()
    elif isinstance(schema, Mapping) and schema.get("type") in ("json_object", "json_schema"):
        # Already a response_format: {"type": "json_object"}, or the envelope around a schema.
        if "json_schema" in schema:
            schema = schema["json_schema"]
        elif schema["type"] == "json_object":
            return {"type": "json_object"}
        else:
            raise InvalidRequestError("response_format json_schema must be a JSON Schema object")
    found_name, bare, found_strict = split_json_schema(schema)
    envelope: dict[str, Any] = {
        "name": schema_name(name) if name is not None else found_name,
        "schema": bare,
    }
    strict = found_strict if strict is None else strict
    if strict is not None:
        envelope["strict"] = strict
    return {"type": "json_schema", "json_schema": envelope}


def is_json_mode(response_format: Mapping[str, Any] | None) -> bool:
    """Whether ``response_format`` asks for JSON (``json_object`` or ``json_schema``)."""
    return response_format is not None and response_format.get("type") != "text"
