"""bench/benchlib/report/analysis.py's "ahead of every peer" check: wins, losses, and ties
within the noise.

Pure functions over made-up summaries; no benchmark runs here.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = str(Path(__file__).resolve().parents[2] / "bench")
sys.path.insert(0, BENCH)  # bench/ is the import root of its scripts and of benchlib
try:
    from benchlib.measure.sampling import Summary
    from benchlib.report.analysis import Check, ahead_check, tied
finally:
    sys.path.remove(BENCH)

KINDS = {"core": "ours", "lc_cloudflare": "peer"}


def _us(x: float) -> str:
    return f"{x * 1e6:.0f} µs"


def summary(median: float, low: float, high: float) -> Summary:
    return Summary(median, low, high, rounds=5)


def test_medians_inside_each_others_range_are_a_tie() -> None:
    assert tied(summary(659e-6, 654e-6, 720e-6), summary(655e-6, 645e-6, 799e-6))
    assert not tied(summary(600e-6, 590e-6, 610e-6), summary(655e-6, 645e-6, 799e-6))
    # one median inside the other's range is not enough
    assert not tied(summary(650e-6, 600e-6, 700e-6), summary(690e-6, 680e-6, 800e-6))
    # single numbers (a peak RSS) are never tied
    assert not tied(100.0, 100.0)


def figure1(ours: Summary, peer: Summary) -> Check:
    return ahead_check("figure 1", {"core": ours, "lc_cloudflare": peer}, KINDS, _us)


def test_a_tie_is_reported_as_such_and_is_not_met() -> None:
    check = figure1(summary(659e-6, 654e-6, 720e-6), summary(655e-6, 645e-6, 799e-6))
    assert not check.met
    assert check.measured == "tied (within the rounds' spread): core 659 µs vs lc_cloudflare 655 µs"


def test_a_clear_win_and_a_clear_loss() -> None:
    win = figure1(summary(400e-6, 390e-6, 410e-6), summary(655e-6, 645e-6, 700e-6))
    assert win.met and win.measured == "closest: core 400 µs vs lc_cloudflare 655 µs"
    loss = ahead_check("requests/s", {"core": 600.0, "lc_cloudflare": 640.0}, KINDS, str, True)
    assert not loss.met and loss.measured == "behind: core 600.0 vs lc_cloudflare 640.0"
