"""Write the model catalog the client and the server read (``workers_ai/catalog.json``).

    python scripts/refresh_catalog.py                 # from the reference catalog (default path)
    python scripts/refresh_catalog.py --reference F   # from another copy of it
    python scripts/refresh_catalog.py --live          # from your account's /ai/models/search
    python scripts/refresh_catalog.py --check         # exit 1 when the file is not up to date

The reference is the 2026 catalog read from Cloudflare's model files
(``shared/reference/workers-ai-models-2026.json``). ``--live`` needs CLOUDFLARE_ACCOUNT_ID and
CLOUDFLARE_API_TOKEN (or WORKERS_AI_BASE_URL for another server): it takes each model's task,
description and properties from Cloudflare and keeps what only the model schemas tell (result
shape, image parts, reasoning fields) from the file as it was. ``catalog_supplement.json`` adds
the facts Cloudflare's files lack, each with its source. This script copies facts; the rules that
derive context windows, efforts and lifecycle from them are ``workers_ai._catalog``'s.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workers_ai._catalog import TEXT_GENERATION, Catalog, ModelSpec

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference" / "workers-ai-models-2026.json"
SUPPLEMENT = Path(__file__).resolve().parent / "catalog_supplement.json"
OUTPUT = ROOT / "integrations" / "workers-ai" / "workers_ai" / "catalog.json"

# The reference's result_shape values -> ours.
_SHAPES = {
    "legacy_response": "legacy",
    "openai_choices": "openai",
    "responses_api_output": "responses",
}
_DEPRECATED_ON = re.compile(r"deprecated (\d{4}-\d{2}-\d{2})")
_SUPPLEMENT_NOTES = (
    "replacement",
    "thinking_toggle",
    "reasoning_field",
    "batch_limit",
    "output_dimensions",
)


def _shape(entry: Mapping[str, Any]) -> str | None:
    raw = str(entry.get("result_shape") or "")
    if raw.startswith("decision"):
        return "decision"
    return _SHAPES.get(raw)


def schema_facts(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What a reference entry's input and output schemas say that its properties do not."""
    keys = set(entry.get("input_keys") or ())
    facts: dict[str, Any] = {}
    if entry.get("task") == TEXT_GENERATION and (shape := _shape(entry)):
        facts["result_shape"] = shape
    if "IMAGE PARTS ACCEPTED" in str(entry.get("messages_content") or ""):
        facts["image_parts"] = True
    if "reasoning_effort" in keys:
        facts["reasoning_effort"] = True
    if "chat_template_kwargs" in keys:
        facts["chat_template_kwargs"] = True
    return facts


def deprecation_notes(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The retirement date the reference's evidence names, with that evidence as the source."""
    if not str(entry.get("status", "")).startswith("deprecated"):
        return {}
    for evidence in entry.get("deprecation_evidence") or ():
        match = _DEPRECATED_ON.search(evidence)
        if match:
            return {"deprecated_on": match.group(1), "deprecation_source": evidence}
    return {}


def _merge_supplement(
    records: list[dict[str, Any]], supplement: Mapping[str, Any]
) -> list[dict[str, Any]]:
    for record in records:
        extra = supplement["models"].get(record["name"], {})
        if "result_shape" in extra:
            record["schema"]["result_shape"] = extra["result_shape"]
        for key in _SUPPLEMENT_NOTES:
            if key in extra:
                record["notes"][key] = extra[key]
    return records


def _replacement(spec: ModelSpec, catalog: Catalog, suggested: Sequence[str]) -> str | None:
    """A retired model's replacement: Cloudflare's suggestions first (one that covers the model's
    vision and tool calling), else the newest active model of its task, else a suggestion."""

    def usable(candidate: ModelSpec | None) -> bool:
        return (
            candidate is not None
            and not candidate.retired()
            and not candidate.paid_only
            and (candidate.image_parts or not spec.image_parts)
            and (candidate.function_calling or not spec.function_calling)
        )

    if spec.task == TEXT_GENERATION:
        for name in suggested:
            if usable(catalog.get(name)):
                return name
    same_task = sorted(
        (s for s in catalog if s.task == spec.task and not s.retired() and s.name != spec.name),
        key=lambda s: s.created_at or "",
        reverse=True,
    )
    if same_task:
        return same_task[0].name
    return next((n for n in suggested if usable(catalog.get(n))), None)


def _with_replacements(
    records: list[dict[str, Any]], supplement: Mapping[str, Any]
) -> list[dict[str, Any]]:
    catalog = Catalog(records)
    suggested = supplement["suggested_replacements"]["models"]
    for record in records:
        spec = catalog.get(record["name"])
        if spec is None or spec.deprecation is None or "replacement" in record["notes"]:
            continue
        replacement = _replacement(spec, catalog, suggested)
        if replacement is not None:
            record["notes"]["replacement"] = replacement
    return records


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v not in (None, {}, "")}


def records_from_reference(
    reference: Sequence[Mapping[str, Any]], supplement: Mapping[str, Any]
) -> list[dict[str, Any]]:
    records = []
    for entry in reference:
        if entry.get("duplicate_note"):  # a stray copy of another model's file
            continue
        records.append(
            {
                "name": entry["name"],
                "task": entry["task"],
                "created_at": entry.get("created_at"),
                "properties": dict(entry.get("properties") or {}),
                "schema": schema_facts(entry),
                "notes": deprecation_notes(entry),
            }
        )
    return _finish(records, supplement)


def records_from_live(
    models: Sequence[Any], previous: Sequence[Mapping[str, Any]], supplement: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Records from ``WorkersAI.models()``; schema facts and dated notes kept from ``previous``."""
    known = {r["name"]: r for r in previous}
    records = []
    for info in models:
        before = known.get(info.name, {})
        notes = {k: v for k, v in before.get("notes", {}).items() if k.startswith("deprecat")}
        records.append(
            {
                "name": info.name,
                "task": info.task or before.get("task", ""),
                "created_at": info.created_at or before.get("created_at"),
                "description": info.description,
                "properties": dict(info.properties),
                "schema": dict(before.get("schema", {})),
                "notes": notes,
            }
        )
    return _finish(records, supplement)


def _finish(records: list[dict[str, Any]], supplement: Mapping[str, Any]) -> list[dict[str, Any]]:
    records = _with_replacements(_merge_supplement(records, supplement), supplement)
    return [_clean(r) for r in sorted(records, key=lambda r: r["name"])]


def render(records: Sequence[Mapping[str, Any]], source: str) -> str:
    body = {
        "about": "Written by scripts/refresh_catalog.py; do not edit by hand.",
        "source": source,
        "models": list(records),
    }
    return json.dumps(body, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--live", action="store_true", help="read your account's catalog")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="only check the file is current")
    args = parser.parse_args(argv)
    supplement = json.loads(SUPPLEMENT.read_text(encoding="utf-8"))
    if args.live:
        from workers_ai import WorkersAI

        previous = json.loads(args.output.read_text(encoding="utf-8"))["models"]
        with WorkersAI() as client:
            records = records_from_live(client.models(), previous, supplement)
        source = f"/ai/models/search of account {client.config.account_id}"
    else:
        reference = json.loads(args.reference.read_text(encoding="utf-8"))
        records = records_from_reference(reference, supplement)
        source = f"reference catalog {args.reference.name} with {SUPPLEMENT.name}"
    text = render(records, source)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run scripts/refresh_catalog.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {len(records)} models to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
