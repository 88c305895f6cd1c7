"""The README's LlamaIndex section runs as written against ``workers-ai serve``.

The README's shell block that starts the server is followed as written (its exports, then the
``workers-ai serve`` command, on a free port instead of 8787, with ``--backend echo`` so the
answers can be asserted); then every Python block of the LlamaIndex section runs, in order, in
one namespace, as a reader pasting them into one session would.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from llama_index.core import Settings

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
BANNER_URL = re.compile(r"WORKERS_AI_BASE_URL=(\S+)")


def code_blocks(language: str, section: str | None = "LlamaIndex") -> list[str]:
    """A section's blocks, each padded with blank lines so that tracebacks point at the file."""
    text = README.read_text(encoding="utf-8")
    start, end = 0, len(text)
    if section is not None:
        found = re.search(rf"^## {section}\n.*?(?=^## |\Z)", text, flags=re.DOTALL | re.MULTILINE)
        assert found, f"README.md has no '## {section}' section"
        start, end = found.span()
    pattern = re.compile(rf"```{language}\n(.*?)```", flags=re.DOTALL)
    return [
        "\n" * text.count("\n", 0, m.start(1)) + m.group(1)
        for m in pattern.finditer(text, start, end)
    ]


def server_setup() -> tuple[dict[str, str], list[str]]:
    """The exports and the ``workers-ai serve`` arguments of the block that starts the server."""
    (block,) = [b for b in code_blocks("bash", section=None) if "export" in b]
    exports: dict[str, str] = {}
    serve_args: list[str] = []
    for line in block.splitlines():
        words = shlex.split(line.rstrip("&").strip(), comments=True)
        if words[:1] == ["export"]:
            exports.update(word.split("=", 1) for word in words[1:])  # type: ignore[misc]
        elif words[:2] == ["workers-ai", "serve"]:
            serve_args = words[1:]
    return exports, [*serve_args, "--backend", "echo"]


@pytest.fixture
def readme_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Runs ``workers-ai serve`` as the README does (on a free port); yields its base URL."""
    exports, serve_args = server_setup()
    port_at = serve_args.index("--port") + 1
    written_port, serve_args[port_at] = serve_args[port_at], "0"
    env = {**os.environ, **exports}
    env.pop("WORKERS_AI_BASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "workers_ai.cli", *serve_args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = BANNER_URL.search(banner)
        assert match, f"workers-ai serve did not start: {banner!r}"
        base_url = match.group(1)
        # The README exports the URL the server prints, on the port it asked for.
        actual_port = str(urlsplit(base_url).port)
        assert exports["WORKERS_AI_BASE_URL"] == base_url.replace(actual_port, written_port)
        for name, value in {**exports, "WORKERS_AI_BASE_URL": base_url}.items():
            monkeypatch.setenv(name, value)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def clean_settings() -> Iterator[None]:
    llm, embed_model = Settings._llm, Settings._embed_model
    try:
        yield
    finally:
        Settings._llm, Settings._embed_model = llm, embed_model


@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")
def test_readme_section_runs_as_written(
    readme_server: str, clean_settings: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = code_blocks("python")
    assert len(blocks) == 4
    namespace: dict[str, object] = {"__name__": "readme"}
    outputs = []
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
        outputs.append(capsys.readouterr().out)
    settings_out, rag_out, agent_out, structured_out = outputs
    assert "Echo: Name the capital of France." in settings_out
    assert "Echo: Write a haiku about the edge." in settings_out
    assert "Vectorize is a vector database" in rag_out
    assert "144" in agent_out
    assert "total=1200" in structured_out
