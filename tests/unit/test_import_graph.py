"""The packages' import graphs, read from their sources: no module imports its own importer.

Imports inside functions count too: a lazy import hides a cycle from the interpreter at start
but not from a reader, and it is what made the local server's backends import themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "integrations"
PACKAGES = {
    "workers_ai": ROOT / "workers-ai" / "workers_ai",
    "workers_ai_local": ROOT / "workers-ai-local" / "workers_ai_local",
}


def module_name(package: str, path: Path, base: Path) -> str:
    parts = [package, *path.relative_to(base).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package's own modules that ``name`` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        found.update(t for t in targets if t in modules and t != name)
    return found


def graph(package: str) -> dict[str, set[str]]:
    base = PACKAGES[package]
    paths = {module_name(package, p, base): p for p in base.rglob("*.py")}
    modules = set(paths)
    return {name: imports_of(name, path, modules) for name, path in paths.items()}


def cycle_in(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt.rsplit(".", 1)[0] == node or state.get(nxt) == 2:
                continue  # a package importing its own submodule is how packages work
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            found = visit(nxt)
            if found:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def without_package_inits(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` re-exports its submodules; submodules that import a sibling
    by ``from package import sibling`` are not importing the ``__init__``'s code paths."""
    inits = {name for name in edges if any(other.startswith(name + ".") for other in edges)}
    return {
        name: {t for t in targets if t not in inits} if name not in inits else targets
        for name, targets in edges.items()
    }


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycles(package: str) -> None:
    assert cycle_in(without_package_inits(graph(package))) is None


def test_the_core_never_imports_the_local_server() -> None:
    for path in PACKAGES["workers_ai"].rglob("*.py"):
        source = path.read_text()
        if path.name == "cli.py":
            continue  # `workers-ai serve` imports it when asked to, and names the package if absent
        assert "workers_ai_local" not in source, path


def test_a_cycle_is_found() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
