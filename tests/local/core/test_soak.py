"""The short soak: ``bench/soak.py`` on 300 calls at concurrency 16, through its ``main()``.

Checks the run's invariants, never its timings: no exception but ``WorkersAIError``, every
answer (streams included) equal to the fault-free one, so no stream was retried after it had
yielded, a success rate at least what the retries should give, and errors only of the kinds the
injected faults cannot be retried past. The full run is ``make soak``.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("uvicorn")

BENCH = Path(__file__).resolve().parents[3] / "bench"


def _load_soak() -> ModuleType:
    # soak.py imports benchlib.server.process, as the other bench scripts import benchlib; bench/
    # is on the path only for the import, so its module names shadow nothing else.
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("soak")
    finally:
        sys.path.remove(str(BENCH))


soak = _load_soak()

# Faults the plan marks "fail" surface as these; every retryable one must be retried away
# (with 4 retries a call gives up only after 5 retryable faults in a row: ~1e-7 per call).
NOT_RETRIED = {"StreamError", "UnexpectedResponseError"}


def run_main(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "soak.json"
    code = soak.main([*args, "--json", str(out)])
    return code, json.loads(out.read_text()), out.read_text()


def test_short_soak_keeps_its_invariants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, _ = run_main(
        tmp_path, "--calls", "300", "--concurrency", "16", "--seed", "7", "--max-retries", "4"
    )
    printed = capsys.readouterr().out
    assert "success:" in printed and "p99" in printed and "RSS:" in printed
    assert report["foreign"] == [], "\n".join(report["foreign"])
    assert report["wrong_output"] == [], "\n".join(report["wrong_output"])
    assert report["problems"] == []
    assert code == 0, printed
    assert report["calls"] == 300
    assert sum(report["by_kind"].values()) == 300
    assert report["ok"] + sum(report["errors"].values()) == 300
    assert report["success_rate"] >= report["success_floor"]
    assert set(report["errors"]) <= NOT_RETRIED, report["errors"]
    assert report["expected_success"] > 0.95
    assert {"server_error", "rate_limit", "cut_stream"} <= set(report["faults"])
    assert report["rss_mb"]["before"] > 0 and len(report["rss_samples_mb"]) >= 10


def test_without_faults_every_call_succeeds(tmp_path: Path) -> None:
    code, report, _ = run_main(
        tmp_path, "--calls", "120", "--concurrency", "16", "--fault-rate", "0"
    )
    assert code == 0
    assert report["ok"] == 120 and report["errors"] == {}
    assert report["expected_success"] == 1.0


def test_the_expected_success_rate_accounts_for_retries() -> None:
    plans = soak.available_plans()
    q = soak.per_fault_probability(0.05, len(plans))
    # One of the queued faults hits a request with the chance asked for.
    assert 1 - (1 - q) ** len(plans) == pytest.approx(0.05)
    without = soak.expected_success(plans, q, max_retries=0)
    with_two = soak.expected_success(plans, q, max_retries=2)
    assert 0.94 < without < 0.96  # every fault but latency fails a call that is not retried
    assert without < with_two < soak.expected_success(plans, q, max_retries=6) < 1.0
    assert soak.expected_success(plans, 0.0, max_retries=2) == 1.0


def test_a_broken_run_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict: a foreign exception, a wrong answer or a low success rate each fail."""
    report = soak.Report(
        calls=100, concurrency=1, fault_rate=0.0, seed=0, max_retries=2, faults=[], ok=100
    )
    report.success_floor = 0.99
    report.rss_mb = {"second_half_growth": 0.0}
    soak.judge(report, max_rss_growth_mb=64)
    assert report.problems == []
    report.foreign.append("chat: KeyError('x')")
    report.wrong_output.append("stream: got 'Echo: a a', want 'Echo: a'")
    report.ok = 90
    report.rss_mb["second_half_growth"] = 100.0
    soak.judge(report, max_rss_growth_mb=64)
    assert len(report.problems) == 4
