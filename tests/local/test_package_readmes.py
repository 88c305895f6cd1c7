"""Each package's README (integrations/*/README.md): every Python block runs as pasted, alone,
against the local server, with the environment its bash block sets up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

INTEGRATIONS = Path(__file__).resolve().parents[2] / "integrations"
READMES = sorted(INTEGRATIONS.glob("*/README.md"))
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, int, str]]:
    return [
        (readme.parent.name, number, code)
        for readme in READMES
        for number, code in enumerate(BLOCK.findall(readme.read_text(encoding="utf-8")), 1)
    ]


def test_every_package_has_a_readme_with_a_quickstart() -> None:
    packages = {p.parent.name for p in INTEGRATIONS.glob("*/pyproject.toml")}
    assert packages == {r.parent.name for r in READMES}
    assert packages == {package for package, _, _ in blocks()}


@pytest.mark.parametrize(
    ("package", "number", "code"), blocks(), ids=[f"{p}-{n}" for p, n, _ in blocks()]
)
def test_readme_block_runs_alone(
    package: str,
    number: int,
    code: str,
    server: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WORKERS_AI_BASE_URL", server.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", server.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", server.token)
    exec(compile(code, f"{package}/README.md python block {number}", "exec"), {})
    printed = capsys.readouterr().out.strip()
    assert printed, "the quickstart prints its answer"
