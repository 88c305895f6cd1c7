"""One door: the framework adapters import only public names of the core.

Every ``from workers_ai... import`` (and ``import workers_ai...``) in the LangChain and
LlamaIndex packages must name a public module (no path segment starting with ``_``), and every
name it imports must be public too and in that module's ``__all__``. What adapters share beyond
``workers_ai`` itself lives in ``workers_ai.adapters``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "integrations"
ADAPTERS = {
    "langchain_workers_ai": ROOT / "langchain-workers-ai" / "langchain_workers_ai",
    "llama_index.llms": ROOT / "llama-index-llms-workers-ai" / "llama_index",
    "llama_index.embeddings": ROOT / "llama-index-embeddings-workers-ai" / "llama_index",
}


def adapter_sources() -> list[Path]:
    return sorted(p for base in ADAPTERS.values() for p in base.rglob("*.py"))


def core_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import of the core in ``path``, anywhere in it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "workers_ai" or node.module.startswith("workers_ai."):
                found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "workers_ai" or alias.name.startswith("workers_ai."):
                    found.append((node.lineno, alias.name, []))
    return found


def test_the_adapters_are_found() -> None:
    sources = adapter_sources()
    assert any(p.name == "chat_models.py" for p in sources)
    assert any(p.parts[-3:] == ("llms", "workers_ai", "base.py") for p in sources)
    assert sum(len(core_imports(p)) for p in sources) > 10


@pytest.mark.parametrize("path", adapter_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_import_only_public_core_modules(path: Path) -> None:
    for line, module, names in core_imports(path):
        private = [part for part in module.split(".") if part.startswith("_")]
        assert not private, f"{path.name}:{line} imports the private module {module}"
        public = getattr(importlib.import_module(module), "__all__", None)
        assert public is not None, f"{module} has no __all__: it is not a supported surface"
        for name in names:
            assert not name.startswith("_"), f"{path.name}:{line} imports {module}.{name}"
            assert name in public, f"{path.name}:{line}: {name} is not in {module}.__all__"


def test_the_adapters_module_documents_itself() -> None:
    import workers_ai.adapters as adapters

    assert adapters.__doc__ and "supported surface for framework adapters" in adapters.__doc__
    for name in adapters.__all__:
        assert hasattr(adapters, name), name
        assert name in adapters.__doc__, f"{name} is exported but not described"


def test_the_rule_catches_a_private_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from workers_ai._request import pop_routing\n")
    assert core_imports(bad) == [(2, "workers_ai._request", ["pop_routing"])]
