"""The README's LangChain section runs as written against the local server.

Its python blocks are executed in order, in one namespace (later blocks use ``llm`` from the
first), with the environment the README tells users to set pointing at the local server.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workers_ai._config import ACCOUNT_ID_ENV, API_TOKEN_ENV, BASE_URL_ENV

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
SECTION = re.search(r"^## LangChain\n(.*?)(?=^## )", README, re.S | re.M)


def code_blocks(language: str, text: str | None = None) -> list[str]:
    assert SECTION is not None, "README.md has no '## LangChain' section"
    return re.findall(rf"```{language}\n(.*?)```", text or SECTION.group(1), re.S)


def test_the_python_blocks_run_against_the_local_server(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = code_blocks("python")
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, block in enumerate(blocks):
        exec(compile(block, f"README.md LangChain python block {number}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "Echo: What is Workers AI?" in out  # the chain
    assert "Echo: Tell me about the Moon." in out  # streaming
    assert "'Echo: Question 4'" in out  # async
    assert "get_weather {'city':" in out  # tools
    assert "year=" in out  # structured output
    assert out.rstrip().endswith("2 768")  # embeddings, as the comment says


def test_the_readme_shell_setup_sets_the_variables_the_client_reads() -> None:
    (shell,) = [b for b in code_blocks("bash", README) if "export" in b]
    exported = set(re.findall(r"\b([A-Z_]+)=", shell))
    assert exported == {ACCOUNT_ID_ENV[0], API_TOKEN_ENV[0], BASE_URL_ENV}
    assert "workers-ai serve" in shell
