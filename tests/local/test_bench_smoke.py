"""bench/run.py runs end to end on a tiny size: it exits 0 and writes its report and chart.

A smoke test only: benchmarks never assert timings. Skipped unless the ``bench`` extra (the
peers and matplotlib) and the local server's extra are installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"

for module in (
    "langchain_cloudflare",
    "langchain_openai",
    "llama_index.embeddings.cloudflare_workersai",
    "matplotlib",
    "uvicorn",
):
    pytest.importorskip(module)


def test_bench_runs_on_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, str(RUN), "--size", "quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = out.read_text()
    for heading in ("## Targets", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## Machine"):
        assert heading in report
    assert "| `floor` floor: httpx |" in report
    assert "ratio to floor" in report
    chart = tmp_path / "ratios.png"
    assert chart.read_bytes().startswith(b"\x89PNG")
