"""RESULTS.md's costs section (bench/costs.py's) survives run.py rewriting the rest."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = str(Path(__file__).resolve().parents[2] / "bench")
sys.path.insert(0, BENCH)  # bench/ is the import root of its scripts and of benchlib
try:
    from benchlib.report.sections import COSTS_BEGIN, COSTS_END, costs_of, with_costs
finally:
    sys.path.remove(BENCH)

SECTION = f"{COSTS_BEGIN}\n## Costs behind the code\n| a | 1 ms | b |\n{COSTS_END}"


def test_a_report_without_the_section_gets_it_appended() -> None:
    report = with_costs("# Benchmarks\n\nfigures\n", SECTION)
    assert report == f"# Benchmarks\n\nfigures\n\n{SECTION}\n"
    assert costs_of(report) == SECTION


def test_the_section_is_replaced_in_place() -> None:
    old = f"# Benchmarks\n\n{SECTION}\n\n## Versions\n"
    new = SECTION.replace("1 ms", "2 ms")
    assert with_costs(old, new) == f"# Benchmarks\n\n{new}\n\n## Versions\n"


def test_run_keeps_what_it_found_and_nothing_when_there_was_none() -> None:
    fresh_report = "# Benchmarks\n"
    assert with_costs(fresh_report, costs_of("an old report without it")) == fresh_report
    assert costs_of(with_costs(fresh_report, costs_of(f"x\n{SECTION}\ny"))) == SECTION
