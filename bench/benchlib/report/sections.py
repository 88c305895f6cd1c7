"""The hand-run section of RESULTS.md (bench/costs.py's), kept when run.py rewrites the rest."""

from __future__ import annotations

COSTS_BEGIN = "<!-- costs: written by bench/costs.py -->"
COSTS_END = "<!-- /costs -->"


def costs_of(report: str) -> str | None:
    """The costs section of a RESULTS.md, markers included; None if it has none."""
    if COSTS_BEGIN not in report:
        return None
    start = report.index(COSTS_BEGIN)
    return report[start : report.index(COSTS_END, start) + len(COSTS_END)]


def with_costs(report: str, costs: str | None) -> str:
    """``report`` with its costs section replaced by ``costs`` (appended if it has none)."""
    if costs is None:
        return report
    old = costs_of(report)
    if old is None:
        return report.rstrip("\n") + "\n\n" + costs + "\n"
    return report.replace(old, costs)
