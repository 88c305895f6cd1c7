"""The costs behind a few choices in the code, measured and dated in bench/RESULTS.md.

Code comments say why (``import httpx`` is put off until a client is named; the catalog builds a
model's spec when first asked; ...); the figures that made the case live here, measured on this
machine by this script, and in RESULTS.md's "Costs behind the code" section, which it rewrites
(``run.py`` keeps the section as it finds it). Figures measured once by hand, with what they
cost to reproduce, are listed with the date they were measured.

    .venv/bin/python bench/costs.py              # measure, print, rewrite the section (~15 s)
    .venv/bin/python bench/costs.py --print      # measure and print only
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchlib.report.sections import COSTS_BEGIN, COSTS_END, with_costs

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
INTERPRETERS = 5


@dataclass(frozen=True)
class Cost:
    what: str
    value: str
    where: str
    """The code that relies on it."""


def fresh(code: str) -> float:
    """Median seconds ``code`` prints as its own elapsed time, over fresh interpreters."""
    runs = []
    for _ in range(INTERPRETERS):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        runs.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


def timed(body: str, setup: str = "") -> str:
    """Code for :func:`fresh`: runs ``setup``, then prints how long ``body`` took."""
    return (
        f"import time\n{setup}\nstart = time.perf_counter()\n{body}\n"
        "print(time.perf_counter() - start)"
    )


MODEL_TYPES = (
    "from workers_ai import types\n"
    "from pydantic import BaseModel\n"
    "def every(cls):\n"
    "    for sub in cls.__subclasses__():\n"
    "        yield sub\n"
    "        yield from every(sub)\n"
    "models = {c for c in every(BaseModel) if c.__module__.startswith('workers_ai')}"
)


def measure() -> list[Cost]:
    ms = 1e3
    return [
        Cost(
            "`import httpx` in a fresh interpreter",
            f"{fresh(timed('import httpx')) * ms:.0f} ms",
            "`workers_ai.__init__`: the clients (and httpx) load when first named",
        ),
        Cost(
            "`import importlib.metadata`",
            f"{fresh(timed('import importlib.metadata')) * ms:.1f} ms",
            "`_operations.user_agent`: the version is read on the first request",
        ),
        Cost(
            "`import workers_ai.types`, validators deferred",
            f"{fresh(timed('import workers_ai.types', setup='import pydantic')) * ms:.1f} ms",
            "`types._Model`: `defer_build=True`",
        ),
        Cost(
            "building every result type's validator",
            f"{fresh(timed('for m in models: m.model_rebuild(force=True)', MODEL_TYPES)) * ms:.1f} ms",  # noqa: E501
            "`types._Model`: `defer_build=True`",
        ),
        Cost(
            "every catalog record made a `ModelSpec`",
            f"{fresh(timed('list(c)', 'from workers_ai._catalog import catalog; c = catalog()')) * ms:.1f} ms",  # noqa: E501
            "`_catalog.Catalog`: a spec is built when first asked for",
        ),
    ]


# Measured once by hand; reproducing them takes a modified server or minutes of the model.
BY_HAND = (
    (
        "2026-11-27",
        "a kept-alive request to the local server listening with protocol 0 instead of "
        "IPPROTO_TCP (asyncio then leaves Nagle on; the body waits for the delayed ACK)",
        "about 40 ms more per request",
        "`workers_ai_local.server`: the listening socket names IPPROTO_TCP",
    ),
    (
        "2026-11-27",
        "SmolLM2-135M, one 26-token answer, llama.cpp with 2 threads vs 1, idle and while "
        "the test suite loads both cores",
        "2 threads: 0.85 s idle, 58 s loaded; 1 thread: 1.2 s both",
        "`workers_ai_local.llama.DEFAULT_THREADS = 1`",
    ),
    (
        "2026-11-27",
        "SmolLM2-135M prompt evaluation on this machine",
        "about 150 tokens/s",
        "`workers_ai_local.llama`: embedding inputs cut at 512 tokens; seeded prompts re-evaluated",
    ),
)


def section(costs: list[Cost], when: dt.date) -> str:
    lines = [
        COSTS_BEGIN,
        "## Costs behind the code",
        "",
        f"Measured by `bench/costs.py` on {when.isoformat()} (median of {INTERPRETERS} fresh "
        "interpreters). The code's comments point here.",
        "",
        "| what | cost | where it matters |",
        "|---|---|---|",
        *(f"| {c.what} | {c.value} | {c.where} |" for c in costs),
        "",
        "Measured by hand, once:",
        "",
        "| measured | what | cost | where it matters |",
        "|---|---|---|---|",
        *(f"| {d} | {what} | {value} | {where} |" for d, what, value, where in BY_HAND),
        COSTS_END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print", action="store_true", help="do not rewrite RESULTS.md")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    text = section(measure(), dt.date.today())
    print(text)
    if not args.print:
        report = args.out.read_text() if args.out.exists() else ""
        args.out.write_text(with_costs(report, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
