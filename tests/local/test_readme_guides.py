"""The README's "Production use", "Caching" and "Context windows" examples run as written against
the local server, configured through the environment as a user would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
TEXT = README.read_text(encoding="utf-8")


def blocks(section: str) -> list[str]:
    found = re.search(rf"^## {re.escape(section)}\n.*?(?=^## )", TEXT, re.DOTALL | re.M)
    assert found, f"README has no section {section!r}"
    return re.findall(r"```python\n(.*?)```", found.group(0), re.DOTALL)


@pytest.fixture
def readme_env(server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.chdir(tmp_path)  # the examples write cache files
    monkeypatch.setenv("WORKERS_AI_BASE_URL", server.base_url)
    monkeypatch.setenv("WORKERS_AI_GATEWAY_URL", server.gateway_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", server.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", server.token)
    for name in ("CF_ACCOUNT_ID", "CF_API_TOKEN", "WORKERS_AI_GATEWAY_ID"):
        monkeypatch.delenv(name, raising=False)
    return server


def run(section: str, number: int) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme"}
    code = compile(blocks(section)[number], f"README.md {section} block {number + 1}", "exec")
    exec(code, namespace)
    return namespace


def test_each_guide_has_its_examples() -> None:
    assert [len(blocks(s)) for s in ("Production use", "Caching", "Context windows")] == [1, 3, 2]


def test_production_use(readme_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    readme_env.inject("rate_limit", count=3, retry_after=0)  # the big model is out of capacity
    names = run("Production use", 0)
    assert names["answer"].model == "@cf/meta/llama-3.1-8b-instruct-fast"  # the fallback answered
    assert len(names["vectors"]) == 1000
    entries = readme_env.requests()
    through_gateway = [e for e in entries if "/my-gateway/" in e["path"]]
    assert through_gateway[-1]["headers"]["cf-aig-skip-cache"] == "true"
    assert through_gateway[0]["headers"]["cf-aig-metadata"] == '{"team":"search"}'
    batches = [e for e in entries if e["query"] == {"queueRequest": "true"}]
    assert batches and all(e["path"].startswith("/client/v4/") for e in batches)
    assert "sea-0 True" in capsys.readouterr().out


def test_caching(readme_env: Any) -> None:
    run("Caching", 0)
    assert len(readme_env.requests()) == 1  # the second invoke came from the cache
    readme_env.reset()
    run("Caching", 1)
    assert [e["body"]["text"] for e in readme_env.requests()] == [["alpha", "beta"], ["gamma"]]
    readme_env.reset()
    run("Caching", 2)
    assert [e["body"]["text"] for e in readme_env.requests()] == [["alpha", "beta"], ["gamma"]]
    assert Path("embedding-cache.json").exists()


def test_context_windows(readme_env: Any) -> None:
    trimmed = run("Context windows", 0)
    sent = readme_env.requests()[-1]["body"]["messages"]
    assert 2 < len(sent) < len(trimmed["history"])  # trimmed, and the request fit
    assert sent[0]["role"] == "system" and sent[-1]["content"].startswith("Which fact")
    memory = run("Context windows", 1)
    assert len(memory["memory"].get()) < len(memory["memory"].get_all())
    assert readme_env.requests()[-1]["status"] == 200
