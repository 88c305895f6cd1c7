"""The core client's README examples run as written against the local server.

(The LangChain and LlamaIndex sections have their own tests beside those providers' tests.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = re.search(
    r"^## The core client\n.*?(?=^## )", README.read_text(encoding="utf-8"), re.DOTALL | re.M
)
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION.group(0) if SECTION else "", re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 1


def test_readme_python_examples_run(
    server: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # the examples write files
    monkeypatch.setenv("WORKERS_AI_BASE_URL", server.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", server.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", server.token)
    namespace: dict[str, Any] = {"__name__": "readme"}
    for number, block in enumerate(BLOCKS, start=1):
        code = compile(block, f"README.md python block {number}", "exec")
        exec(code, namespace)
    assert "Name a sea." in capsys.readouterr().out
