"""Every model name the project shows its users is one Cloudflare still serves.

README, examples, notebooks, docstrings and defaults name only active catalog models (or a
name that says it is made up: ``no-such``); tests may also invent names (unknown-model tests),
and may name a retired model only where they say so (a line that mentions "retired",
"deprecat..." or "on purpose", or one of the three before). When Cloudflare retires a model,
refreshing the catalog makes this test name every place to change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workers_ai._catalog import catalog

ROOT = Path(__file__).resolve().parents[2]
# A whole name: a trailing "." ends the sentence; a "*" after it makes it a pattern, not a name.
NAME = re.compile(r"@(?:cf|hf)/[A-Za-z0-9._-]+/[A-Za-z0-9._-]*[A-Za-z0-9](?=\.?(?:[^\w.*-]|$))")
INVENTED = "no-such"  # a name made up to show the unknown-model error
SAYS_SO = re.compile(r"retired|deprecat|on purpose", re.IGNORECASE)
USER_FACING = ("README.md", "examples", "notebooks", "integrations", "bench")
SUFFIXES = {".py", ".md", ".ipynb"}


def files(top: str) -> list[Path]:
    path = ROOT / top
    if path.is_file():
        return [path]
    return sorted(
        p for p in path.rglob("*") if p.suffix in SUFFIXES and "__pycache__" not in p.parts
    )


def names_in(path: Path) -> list[tuple[int, str, bool]]:
    """(line number, name, whether the place says the name is retired on purpose)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for number, line in enumerate(lines):
        context = lines[max(0, number - 3) : number + 1]
        for name in NAME.findall(line):
            found.append((number + 1, name, any(SAYS_SO.search(c) for c in context)))
    return found


def retired_and_unknown(tops: tuple[str, ...]) -> tuple[list[str], list[str]]:
    retired, unknown = [], []
    for top in tops:
        for path in files(top):
            for number, name, on_purpose in names_in(path):
                spec = catalog().get(name)
                where = f"{path.relative_to(ROOT)}:{number}: {name}"
                if spec is None:
                    if INVENTED not in name:
                        unknown.append(where)
                elif spec.retired() and not on_purpose:
                    retired.append(where)
    return retired, unknown


def test_user_facing_names_are_active_catalog_models() -> None:
    retired, unknown = retired_and_unknown(USER_FACING)
    assert retired == [], "retired models named where users copy them from"
    assert unknown == [], "model names the catalog does not list"


def test_tests_name_retired_models_only_on_purpose() -> None:
    retired, _ = retired_and_unknown(("tests",))
    assert retired == [], "mark these as retired on purpose, or use an active model"


@pytest.mark.parametrize("text", ["@cf/meta/llama-3.1-8b-instruct", "x @hf/a/b-1.0."])
def test_the_pattern_finds_names(text: str) -> None:
    assert NAME.findall(text)
