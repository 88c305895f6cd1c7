"""Benchmarks of our clients against the floor (raw httpx) and the peers, in one command.

    .venv/bin/python bench/run.py                 # full size, writes bench/RESULTS.md + ratios.png
    .venv/bin/python bench/run.py --size quick --out /tmp/RESULTS.md     # the smoke test's size

Needs the ``bench`` extra (``make bench`` installs it with every package): the peers, matplotlib.
The local server (echo backend) runs in a process of its own over loopback; every client runs
in worker processes (``benchlib/measure/worker.py``, ``benchlib/measure/cold.py``), so the numbers
are the client's alone. bench/README.md says what each figure measures.
Nothing here asserts a timing: the output is a report, never a pass or fail.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchlib.measure.machine import Machine, load_average
from benchlib.server.process import Endpoint, ServerProcess, clean_env
from benchlib.subjects.chat import CHAT_SUBJECTS
from benchlib.subjects.embed import EMBED_SUBJECTS

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# Slower than any subject parses a token, so one event per read (benchlib/server/serve.py).
STREAM_PACE_US = 300.0
# Figures 1-4 run as a module from bench/. Figure 5 runs by path: ``-m`` would import runpy,
# collections, functools and importlib.util before the import it times (cold.py puts bench/ on
# the path itself).
WORKER = ["-m", "benchlib.measure.worker"]
COLD = [str(BENCH / "benchlib" / "measure" / "cold.py")]
PEER_MODULES = (
    "langchain_cloudflare",
    "langchain_openai",
    "llama_index.embeddings.cloudflare_workersai",
    "matplotlib",
)


@dataclass(frozen=True)
class Size:
    name: str
    rounds: int  # figures 1-2: interleaved rounds
    calls: int  # figure 1: chats per subject per round
    streams: int  # figure 2: streams per subject per round
    answer_tokens: int  # figure 2: tokens per streamed answer
    warmup: int  # figures 1-2: warm-up chats per subject
    async_calls: int  # figure 3
    concurrency: int  # figure 3
    async_rounds: int  # figure 3
    texts: int  # figure 4
    embed_rounds: int  # figure 4
    embed_budget: float  # figure 4: seconds per subject after which no new round starts
    import_reps: int  # figure 5: fresh interpreters per module
    constructions: int  # figure 5: timed constructions after the first


SIZES = {
    "full": Size(
        name="full",
        rounds=5,
        calls=200,
        streams=2,
        answer_tokens=2000,
        warmup=30,
        async_calls=2000,
        concurrency=64,
        async_rounds=3,
        texts=10_000,
        embed_rounds=3,
        embed_budget=20.0,
        import_reps=5,
        constructions=20,
    ),
    "quick": Size(
        name="quick",
        rounds=2,
        calls=5,
        streams=1,
        answer_tokens=40,
        warmup=2,
        async_calls=32,
        concurrency=8,
        async_rounds=1,
        texts=250,
        embed_rounds=1,
        embed_budget=5.0,
        import_reps=1,
        constructions=2,
    ),
}


def _log(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)


def _run_json(launcher: list[str], args: list[str]) -> Any:
    """Run a bench script in a fresh interpreter in bench/; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, *launcher, *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=BENCH,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{launcher[-1]} {args[:3]} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_all(endpoint: Endpoint, size: Size, started: float) -> dict[str, Any]:
    ep = endpoint.as_args()
    chat_keys = [s.key for s in CHAT_SUBJECTS]
    _log("figures 1-2: chat and stream, all chat subjects interleaved", started)
    per_call = _run_json(
        WORKER,
        [
            "per-call",
            "--subjects",
            ",".join(chat_keys),
            "--rounds",
            str(size.rounds),
            "--calls",
            str(size.calls),
            "--streams",
            str(size.streams),
            "--answer-tokens",
            str(size.answer_tokens),
            "--warmup",
            str(size.warmup),
            *ep,
        ],
    )
    async_results = {}
    for key in chat_keys:
        _log(f"figure 3: {size.async_calls} async chats at {size.concurrency}: {key}", started)
        async_results[key] = _run_json(
            WORKER,
            [
                "async",
                "--subject",
                key,
                "--calls",
                str(size.async_calls),
                "--concurrency",
                str(size.concurrency),
                "--rounds",
                str(size.async_rounds),
                *ep,
            ],
        )
    embed_results = {}
    for subject in EMBED_SUBJECTS:
        for mode in ("sync", "async"):
            _log(f"figure 4: embed {size.texts} texts: {subject.key} {mode}", started)
            embed_results[f"{subject.key}/{mode}"] = _run_json(
                WORKER,
                [
                    "embed",
                    "--subject",
                    subject.key,
                    "--mode",
                    mode,
                    "--texts",
                    str(size.texts),
                    "--rounds",
                    str(size.embed_rounds),
                    "--budget",
                    str(size.embed_budget),
                    *ep,
                ],
            )
    cold: dict[str, Any] = {}
    modules = dict.fromkeys([s.module for s in CHAT_SUBJECTS] + [s.module for s in EMBED_SUBJECTS])
    for module in modules:
        _log(f"figure 5: import and construct: {module}", started)
        runs = [_run_json(COLD, [module, "--construct", str(size.constructions), *ep])]
        runs += [_run_json(COLD, [module]) for _ in range(size.import_reps - 1)]
        cold[module] = {
            "imports": [{k: r[k] for k in ("import_wall", "import_cpu")} for r in runs],
            "builds": runs[0]["builds"],
        }
    return {"per_call": per_call, "async": async_results, "embed": embed_results, "cold": cold}


def _missing_extra() -> list[str]:
    return [
        m
        for m in PEER_MODULES
        if importlib.util.find_spec(m.split(".")[0]) is None
        or ("." in m and importlib.util.find_spec(m) is None)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--quick", action="store_true", help="same as --size quick")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md", help="the report")
    parser.add_argument("--chart", type=Path, help="default: ratios.png beside --out")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument(
        "--plain-server",
        action="store_true",
        help="run `workers-ai serve` as it is, without serve.py's stream pacing",
    )
    parser.add_argument(
        "--pace-us",
        type=float,
        default=STREAM_PACE_US,
        help=f"microseconds between the server's stream writes (default {STREAM_PACE_US:g})",
    )
    args = parser.parse_args(argv)
    size = SIZES["quick" if args.quick else args.size]
    missing = _missing_extra()
    if missing:
        print(f"missing {', '.join(missing)}: run `make bench` (it installs them)", file=sys.stderr)
        return 2
    chart = args.chart or args.out.with_name("ratios.png")
    started = time.monotonic()
    machine = Machine.here(REPO)
    pace = 0.0 if args.plain_server else args.pace_us
    with ServerProcess(wrapped=not args.plain_server, pace_us=pace) as endpoint:
        _log(f"local server at {endpoint.base_url}", started)
        raw = measure_all(endpoint, size, started)
    raw["size"] = asdict(size)
    raw["server"] = {"wrapped": not args.plain_server, "pace_us": pace}
    raw["machine"] = asdict(machine)
    raw["load_end"] = load_average()
    raw["elapsed"] = time.monotonic() - started
    for path in (args.out, chart, *([args.json] if args.json else [])):
        path.parent.mkdir(parents=True, exist_ok=True)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    from benchlib.report.chart import draw
    from benchlib.report.markdown import render
    from benchlib.report.sections import costs_of, with_costs

    kept = costs_of(args.out.read_text()) if args.out.exists() else None
    report = render(raw, chart_link=os.path.relpath(chart, args.out.parent))
    args.out.write_text(with_costs(report, kept))
    draw(raw, chart)
    _log(f"wrote {args.out} and {chart}", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
