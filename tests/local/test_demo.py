"""`make demo` runs examples/demo.py: it must finish, print each part, and exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def test_demo_runs_offline_and_exits_zero() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "WORKERS_AI_BASE_URL")
    }
    done = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "Running against the local server" in out
    for part in ("streamed", "tool-call round trip", "structured output", "RAG", "Usage totals"):
        assert part in out
    assert "model called get_weather(" in out
    assert "source: README section" in out
