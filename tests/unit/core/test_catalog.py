"""The model catalog as data: the packaged file, the rules that read it, lifecycle checks, and
the script that writes it."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from workers_ai import ModelDeprecatedError, model_spec
from workers_ai import _catalog as catalog_mod
from workers_ai._catalog import Catalog, catalog, checked_model, spec_from_record

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT.parent / "shared" / "reference" / "workers-ai-models-2026.json"


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "refresh_catalog", ROOT / "scripts" / "refresh_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["refresh_catalog"] = module
    spec.loader.exec_module(module)
    return module


# -- the packaged catalog -------------------------------------------------------------------------


def test_the_packaged_catalog_holds_cloudflares_2026_models() -> None:
    names = {spec.name for spec in catalog()}
    assert len(names) == 111
    for name in (
        "@cf/zai-org/glm-4.7-flash",
        "@cf/google/gemma-4-26b-a4b-it",
        "@cf/moonshotai/kimi-k2.6",
        "@cf/openai/gpt-oss-120b",
        "@cf/baai/bge-base-en-v1.5",
    ):
        assert name in names


def test_facts_of_well_known_models() -> None:
    llama = model_spec("@cf/meta/llama-3.3-70b-instruct-fp8-fast")
    assert llama is not None
    assert (llama.context_window, llama.function_calling, llama.result_shape) == (
        24000,
        True,
        "legacy",
    )
    assert llama.async_queue and llama.reasoning is None and not llama.paid_only
    scout = model_spec("@cf/meta/llama-4-scout-17b-16e-instruct")
    assert scout is not None and scout.result_shape == "scout" and scout.image_parts
    gpt = model_spec("@cf/openai/gpt-oss-120b")
    assert gpt is not None and gpt.result_shape == "responses"
    assert gpt.reasoning is not None
    assert gpt.reasoning.efforts == ("low", "medium", "high") and gpt.reasoning.default == "medium"
    assert gpt.reasoning.mandatory and gpt.reasoning.toggle is None
    kimi = model_spec("@cf/moonshotai/kimi-k2.6")
    assert kimi is not None and kimi.paid_only and kimi.result_shape == "openai"
    assert kimi.reasoning is not None
    assert (kimi.reasoning.toggle, kimi.reasoning.output_field) == ("thinking", "reasoning")
    glm = model_spec("@cf/zai-org/glm-4.7-flash")
    assert glm is not None and glm.reasoning is not None
    assert (glm.reasoning.toggle, glm.reasoning.output_field) == (
        "enable_thinking",
        "reasoning_content",
    )
    qwen_embed = model_spec("@cf/qwen/qwen3-embedding-0.6b")
    assert qwen_embed is not None and qwen_embed.batch_limit == 32
    assert qwen_embed.output_dimensions == 1024
    bge = model_spec("@cf/baai/bge-small-en-v1.5")
    assert bge is not None and (bge.batch_limit, bge.output_dimensions) == (100, 384)


def test_aliases_of_efforts_are_accepted() -> None:
    flash = model_spec("@cf/zai-org/glm-5.3-flash")
    assert flash is not None and flash.reasoning is not None
    assert flash.reasoning.accepts("max") and flash.reasoning.accepts("medium")  # -> max
    assert not flash.reasoning.accepts("extreme")


def test_retired_models_name_their_date_and_replacement() -> None:
    llama = model_spec("@cf/meta/llama-3.1-8b-instruct")
    assert llama is not None and llama.deprecation is not None
    assert llama.deprecation.date == dt.date(2026, 5, 30) and llama.retired()
    assert llama.deprecation.replacement == "@cf/zai-org/glm-4.7-flash"
    gemma3 = model_spec("@cf/google/gemma-3-12b-it")
    assert gemma3 is not None and gemma3.deprecation is not None
    assert gemma3.deprecation.replacement == "@cf/google/gemma-4-26b-a4b-it"  # keeps vision
    kimi25 = model_spec("@cf/moonshotai/kimi-k2.5")
    assert kimi25 is not None and kimi25.deprecation is not None
    assert kimi25.deprecation.replacement == "@cf/moonshotai/kimi-k2.6"  # Cloudflare's alias


# -- names --------------------------------------------------------------------------------------


def test_names_without_their_prefix_are_recognised() -> None:
    full = "@cf/meta/llama-4-scout-17b-16e-instruct"
    assert catalog().resolve("meta/llama-4-scout-17b-16e-instruct") == full
    assert catalog().resolve("llama-4-scout-17b-16e-instruct") == full
    assert catalog().resolve("LLAMA-4-Scout-17B-16E-Instruct") == full
    assert catalog().resolve("@cf/not/in-the-catalog") == "@cf/not/in-the-catalog"
    assert catalog().resolve("my-lora-finetune") == "my-lora-finetune"
    assert checked_model("zai-org/glm-4.7-flash") == "@cf/zai-org/glm-4.7-flash"


def test_did_you_mean_suggests_active_models() -> None:
    close = catalog().suggest("@cf/meta/llama-3.3-70b-instruct-fp8-fsat")
    assert close[0] == "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
    # A retired model is never suggested.
    assert "@cf/meta/llama-3.1-8b-instruct" not in catalog().suggest("llama-3.1-8b-instruct")
    assert catalog().suggest("zzzz") == []


def test_free_alternatives_share_the_task_and_tool_calling() -> None:
    kimi = model_spec("@cf/moonshotai/kimi-k2.6")
    assert kimi is not None
    found = catalog().alternatives(kimi)
    assert len(found) == 3
    for name in found:
        spec = model_spec(name)
        assert spec is not None
        assert spec.task == "Text Generation" and spec.function_calling and not spec.paid_only


# -- lifecycle ------------------------------------------------------------------------------------


def test_a_retired_model_is_refused_before_the_network() -> None:
    # Retired on purpose: this test is about that.
    with pytest.raises(ModelDeprecatedError) as caught:
        checked_model("@hf/nousresearch/hermes-2-pro-mistral-7b")
    error = caught.value
    assert error.model == "@hf/nousresearch/hermes-2-pro-mistral-7b"
    assert error.deprecated_on == "2026-05-30" and error.replacement == "@cf/zai-org/glm-4.7-flash"
    assert str(error).startswith(
        "@hf/nousresearch/hermes-2-pro-mistral-7b was retired by Cloudflare on 2026-05-30. "
        "Use @cf/zai-org/glm-4.7-flash instead."
    )
    assert error.status is None  # no answer was involved


def test_a_model_retiring_later_warns_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    ahead = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=30)).isoformat()
    record = {
        "name": "@cf/meta/llama-2-7b-chat-hf-lora",
        "task": "Text Generation",
        "properties": {"planned_deprecation_date": ahead},
        "notes": {"replacement": "@cf/zai-org/glm-4.7-flash"},
    }
    monkeypatch.setattr(catalog_mod, "catalog", lambda: Catalog([record]))
    monkeypatch.setattr(catalog_mod, "_warned", set())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(3):
            assert checked_model(record["name"]) == record["name"]
    assert [w.category for w in seen] == [DeprecationWarning]
    assert str(seen[0].message) == (
        f"@cf/meta/llama-2-7b-chat-hf-lora will be retired by Cloudflare on {ahead}. "
        "Use @cf/zai-org/glm-4.7-flash instead."
    )


def test_an_empty_model_name_is_refused() -> None:
    with pytest.raises(ValueError, match="model must be a Workers AI model name"):
        checked_model("")


# -- the rules, on records ------------------------------------------------------------------------


def test_records_with_no_facts_give_safe_defaults() -> None:
    spec = spec_from_record({"name": "@cf/x/y", "task": "Text Generation"})
    assert spec.context_window is None and spec.result_shape is None
    assert spec.reasoning is None and spec.deprecation is None and not spec.function_calling


def test_reasoning_rules() -> None:
    base = {"name": "@cf/x/y", "task": "Text Generation", "properties": {"reasoning": "true"}}
    plain = spec_from_record(base)
    assert plain.reasoning is not None and plain.reasoning.efforts == ()
    schema = spec_from_record(
        {**base, "schema": {"reasoning_effort": True, "chat_template_kwargs": True}}
    )
    assert schema.reasoning is not None
    assert schema.reasoning.efforts == ("low", "medium", "high")
    assert schema.reasoning.toggle == "enable_thinking"
    assert spec_from_record({**base, "properties": {}}).reasoning is None


# -- the refresh script ---------------------------------------------------------------------------


def test_the_script_reads_a_reference_entry() -> None:
    script = load_script()
    supplement = json.loads((ROOT / "scripts" / "catalog_supplement.json").read_text())
    reference = [
        {
            "name": "@cf/x/old-chat",
            "task": "Text Generation",
            "properties": {"context_window": "4096"},
            "input_keys": ["messages", "reasoning_effort"],
            "result_shape": "legacy_response",
            "status": "deprecated",
            "deprecation_evidence": ["changelog x.mdx: deprecated 2026-05-30"],
            "messages_content": "string only",
        },
        {
            "name": "@cf/zai-org/glm-4.7-flash",
            "task": "Text Generation",
            "properties": {"function_calling": "true", "reasoning": "true"},
            "input_keys": ["messages", "chat_template_kwargs"],
            "result_shape": "openai_choices",
            "status": "active (no deprecation evidence)",
        },
        {"name": "@cf/x/copy", "task": "Translation", "duplicate_note": "stray copy"},
    ]
    records = script.records_from_reference(reference, supplement)
    assert [r["name"] for r in records] == ["@cf/x/old-chat", "@cf/zai-org/glm-4.7-flash"]
    old = records[0]
    assert old["schema"] == {"result_shape": "legacy", "reasoning_effort": True}
    assert old["notes"] == {
        "deprecated_on": "2026-05-30",
        "deprecation_source": "changelog x.mdx: deprecated 2026-05-30",
        "replacement": "@cf/zai-org/glm-4.7-flash",
    }
    assert records[1]["schema"] == {"result_shape": "openai", "chat_template_kwargs": True}


def test_the_script_refreshes_from_a_live_catalog() -> None:
    from workers_ai import ModelInfo

    script = load_script()
    supplement = json.loads((ROOT / "scripts" / "catalog_supplement.json").read_text())
    previous = [
        {
            "name": "@cf/qwen/qwq-32b",
            "task": "Text Generation",
            "schema": {"result_shape": "openai"},
        }
    ]
    live = [
        ModelInfo(
            name="@cf/qwen/qwq-32b",
            task="Text Generation",
            description="QwQ",
            properties={"context_window": "32768"},
        ),
        ModelInfo(name="@cf/new/model", task="Text Generation", properties={}),
    ]
    records = script.records_from_live(live, previous, supplement)
    qwq = next(r for r in records if r["name"] == "@cf/qwen/qwq-32b")
    assert qwq["schema"] == {"result_shape": "openai"}  # kept: search tells no schema
    assert qwq["properties"] == {"context_window": "32768"} and qwq["description"] == "QwQ"
    assert spec_from_record(qwq).context_window == 32768


@pytest.mark.skipif(not REFERENCE.exists(), reason="the shared reference catalog is not here")
def test_the_packaged_file_is_what_the_script_writes() -> None:
    assert load_script().main(["--check"]) == 0
