"""Soak: many mixed calls through ``AsyncWorkersAI`` while the server injects random faults.

    python bench/soak.py [--calls 20000] [--concurrency 64] [--fault-rate 0.05] [--seed 0]

The local server (echo backend) runs in a child process, so its CPU time is not the client's.
Faults are queued once, each with a ``probability`` (and a seed, so a run can be repeated), and
together hit about ``--fault-rate`` of the requests: HTTP errors (500, 429, 502, 503), connection
resets, latency, streams cut mid-way and garbled events. The calls (chat, streamed chat and
embeddings, over two result families) go through the client's own retries.

Reports the success rate (and the rate the retries should give), the errors by type, p50, p99
and max latency per call, and the client's RSS before, during and after. Exits 1 only when
something is broken:

- an exception that is not a ``WorkersAIError`` (or a call that hangs);
- an answer that differs from the fault-free one (a stream retried after it had yielded
  would duplicate text; a lost chunk would drop some);
- a success rate below what the retries should give (with a margin for chance);
- RSS still growing over the second half of the run by more than ``--max-rss-growth-mb``.

Timings are reported, never judged.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import sys
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from benchlib.server.process import Endpoint, ServerProcess
from workers_ai import AsyncWorkersAI, WorkersAIError
from workers_ai_local import faults as fault_kinds

CallKind = Literal["chat", "stream", "embed"]
Outcome = Literal["retry", "fail", "pass"]

CHAT_MODELS = ("@cf/meta/llama-3.1-8b-instruct-fp8", "@cf/qwen/qwen3-30b-a3b-fp8")
EMBED_MODEL = "@cf/baai/bge-base-en-v1.5"
PROMPTS = tuple(f"soak prompt {i} about the sea and the sky" for i in range(16))
MIX: dict[CallKind, float] = {"chat": 0.5, "stream": 0.35, "embed": 0.15}
CALL_TIMEOUT = 60.0  # a call that takes longer has hung
CLIENT_TIMEOUT = 15.0


@dataclass(frozen=True)
class FaultPlan:
    """One injected fault kind and what it does to a call of each kind on one attempt."""

    kind: str
    fields: dict[str, Any]
    outcome: dict[CallKind, Outcome]


def _same(outcome: Outcome) -> dict[CallKind, Outcome]:
    return {"chat": outcome, "stream": outcome, "embed": outcome}


FAULT_PLANS = (
    FaultPlan("server_error", {}, _same("retry")),
    FaultPlan("rate_limit", {"retry_after": 0}, _same("retry")),
    FaultPlan("html_error", {}, _same("retry")),
    FaultPlan("empty_body", {"status": 503}, _same("retry")),
    FaultPlan("reset", {}, _same("retry")),
    FaultPlan("latency", {"delay": 0.05}, _same("pass")),
    # Mid-stream, after chunks were yielded: a stream is never retried then. A whole answer is
    # cut as a body shorter than its Content-Length: a connection error, retried.
    FaultPlan(
        "cut_stream",
        {"after": 2, "abrupt": True},
        {"chat": "retry", "stream": "fail", "embed": "retry"},
    ),
    # A garbled event fails the stream; a whole answer cut in half is a 200 that is not JSON.
    FaultPlan("malformed_event", {"at": 2}, _same("fail")),
)


@dataclass
class Report:
    calls: int
    concurrency: int
    fault_rate: float
    seed: int
    max_retries: int
    faults: list[str]
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    foreign: list[str] = field(default_factory=list)
    wrong_output: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    expected_success: float = 0.0
    success_floor: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    rss_samples_mb: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return self.ok / self.calls if self.calls else 0.0


def rss_mb() -> float:
    """This process's resident set size, in MB (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def available_plans() -> list[FaultPlan]:
    """The plans whose fault kind this version of the local server knows."""
    return [plan for plan in FAULT_PLANS if plan.kind in fault_kinds.KINDS]


def per_fault_probability(total: float, faults: int) -> float:
    """Each of ``faults`` queued faults is drawn in turn until one hits; this chance for each
    makes one of them hit a request with probability ``total``."""
    return 1.0 - (1.0 - total) ** (1.0 / faults) if faults else 0.0


def expected_success(plans: list[FaultPlan], q: float, max_retries: int) -> float:
    """The success rate the retries should give: per attempt a call is retried, fails or goes
    through; it succeeds unless it meets a failing fault or ``max_retries + 1`` retried ones."""
    total = 0.0
    for kind, share in MIX.items():
        retry = fail = 0.0
        missed = 1.0  # chance every earlier fault in the queue missed
        for plan in plans:
            hit = missed * q
            if plan.outcome[kind] == "retry":
                retry += hit
            elif plan.outcome[kind] == "fail":
                fail += hit
            missed *= 1.0 - q
        clean = 1.0 - retry - fail
        total += share * clean * sum(retry**i for i in range(max_retries + 1))
    return total


class Expected:
    """The fault-free answers every call is checked against."""

    def __init__(self) -> None:
        self.texts: dict[tuple[str, str], str] = {}
        self.dims = 0

    async def calibrate(self, client: AsyncWorkersAI) -> None:
        for model in CHAT_MODELS:
            for prompt in PROMPTS:
                whole = (await client.chat(model, prompt=prompt)).text
                streamed = "".join([c.text async for c in client.stream_chat(model, prompt=prompt)])
                if whole != streamed:
                    raise RuntimeError(f"{model}: stream {streamed!r} != answer {whole!r}")
                self.texts[model, prompt] = whole
        self.dims = len((await client.embed(EMBED_MODEL, "x")).vectors[0])


async def one_call(
    client: AsyncWorkersAI, expected: Expected, kind: CallKind, rng: random.Random
) -> str | None:
    """Make one call; returns what is wrong with its answer, or None."""
    model, prompt = rng.choice(CHAT_MODELS), rng.choice(PROMPTS)
    if kind == "chat":
        text = (await client.chat(model, prompt=prompt)).text
    elif kind == "stream":
        text = "".join([c.text async for c in client.stream_chat(model, prompt=prompt)])
    else:
        texts = [rng.choice(PROMPTS) for _ in range(rng.randint(1, 4))]
        vectors = (await client.embed(EMBED_MODEL, texts)).vectors
        if len(vectors) != len(texts) or any(len(v) != expected.dims for v in vectors):
            return f"embed: {len(vectors)} vectors for {len(texts)} texts"
        return None
    want = expected.texts[model, prompt]
    if text != want:
        return f"{kind} {model}: got {text[:120]!r}, want {want[:120]!r}"
    return None


async def drive(
    endpoint: Endpoint, report: Report, plans: list[FaultPlan], q: float, max_retries: int
) -> None:
    async with AsyncWorkersAI(
        account_id=endpoint.account_id,
        api_token=endpoint.token,
        base_url=endpoint.base_url,
        max_retries=max_retries,
        timeout=CLIENT_TIMEOUT,
    ) as client:
        expected = Expected()
        await expected.calibrate(client)
        inject_faults(endpoint, plans, q, report.seed)

        gc.collect()
        report.rss_mb["before"] = rss_mb()
        report.rss_samples_mb.append(report.rss_mb["before"])
        rng = random.Random(report.seed)
        kinds: list[CallKind] = rng.choices(list(MIX), weights=list(MIX.values()), k=report.calls)
        report.by_kind = dict(Counter(kinds))
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        step = max(1, report.calls // 10)
        next_index = 0

        async def worker(seed: int) -> None:
            nonlocal next_index
            call_rng = random.Random(seed)
            while next_index < report.calls:
                index, next_index = next_index, next_index + 1
                started = time.perf_counter()
                try:
                    wrong = await asyncio.wait_for(
                        one_call(client, expected, kinds[index], call_rng), CALL_TIMEOUT
                    )
                except WorkersAIError as error:
                    errors[type(error).__name__] += 1
                except Exception as error:  # anything else is a bug
                    report.foreign.append(
                        f"{kinds[index]}: {error!r}\n" + "".join(traceback.format_exception(error))
                    )
                else:
                    if wrong is None:
                        report.ok += 1
                    else:
                        report.wrong_output.append(wrong)
                latencies.append(time.perf_counter() - started)
                if (index + 1) % step == 0:
                    report.rss_samples_mb.append(rss_mb())

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(report.seed * 1000 + w) for w in range(report.concurrency)))
        report.wall_s = time.perf_counter() - wall0
        report.client_cpu_s = time.process_time() - cpu0
        clear_faults(endpoint)

    gc.collect()
    report.rss_mb["after"] = rss_mb()
    report.rss_mb["growth"] = report.rss_mb["after"] - report.rss_mb["before"]
    half = report.rss_samples_mb[len(report.rss_samples_mb) // 2]
    report.rss_mb["second_half_growth"] = report.rss_mb["after"] - half
    report.errors = dict(errors.most_common())
    ordered = sorted(latencies)
    report.latency_ms = {
        "p50": 1000 * percentile(ordered, 0.50),
        "p99": 1000 * percentile(ordered, 0.99),
        "max": 1000 * (ordered[-1] if ordered else math.nan),
    }


def _control(endpoint: Endpoint) -> httpx.Client:
    return httpx.Client(headers={"Authorization": f"Bearer {endpoint.token}"}, timeout=10)


def _faults_url(endpoint: Endpoint) -> str:
    return endpoint.base_url.removesuffix("/client/v4") + "/__local__/faults"


def inject_faults(endpoint: Endpoint, plans: list[FaultPlan], q: float, seed: int) -> None:
    with _control(endpoint) as control:
        control.delete(_faults_url(endpoint)).raise_for_status()
        if q <= 0:
            return
        for i, plan in enumerate(plans):
            spec = {"kind": plan.kind, **plan.fields, "probability": q, "seed": seed * 100 + i}
            answer = control.post(_faults_url(endpoint), json=spec)
            if answer.status_code != 200:
                raise RuntimeError(f"the server refused fault {spec}: {answer.text}")


def clear_faults(endpoint: Endpoint) -> None:
    with _control(endpoint) as control:
        control.delete(_faults_url(endpoint)).raise_for_status()


def judge(report: Report, max_rss_growth_mb: float) -> None:
    """Fill ``report.problems``: what makes the run a failure."""
    if report.foreign:
        report.problems.append(f"{len(report.foreign)} exceptions that are not WorkersAIError")
    if report.wrong_output:
        report.problems.append(f"{len(report.wrong_output)} answers differ from the fault-free one")
    if report.success_rate < report.success_floor:
        report.problems.append(
            f"success rate {report.success_rate:.4f} is below {report.success_floor:.4f} "
            f"(the retries should give {report.expected_success:.4f})"
        )
    if report.rss_mb.get("second_half_growth", 0.0) > max_rss_growth_mb:
        report.problems.append(
            f"RSS grew {report.rss_mb['second_half_growth']:.1f} MB over the second half "
            f"(more than {max_rss_growth_mb:g} MB)"
        )


def run(
    calls: int,
    concurrency: int,
    fault_rate: float,
    seed: int,
    *,
    max_retries: int = 2,
    max_rss_growth_mb: float = 64.0,
) -> Report:
    plans = available_plans()
    q = per_fault_probability(fault_rate, len(plans))
    report = Report(
        calls=calls,
        concurrency=concurrency,
        fault_rate=fault_rate,
        seed=seed,
        max_retries=max_retries,
        faults=[plan.kind for plan in plans],
    )
    report.expected_success = expected_success(plans, q, max_retries)
    p = report.expected_success
    # Binomial noise: 5 standard deviations, and at least half a percent.
    margin = max(5 * math.sqrt(p * (1 - p) / max(calls, 1)), 0.005)
    report.success_floor = p - margin
    with ServerProcess(account_id="soak", wrapped=False) as endpoint:
        asyncio.run(drive(endpoint, report, plans, q, max_retries))
    judge(report, max_rss_growth_mb)
    return report


def render(report: Report) -> str:
    errors = ", ".join(f"{name} {count}" for name, count in report.errors.items()) or "none"
    lat = report.latency_ms
    rss = report.rss_mb
    lines = [
        f"soak: {report.calls} calls at concurrency {report.concurrency}, "
        f"{report.fault_rate:.1%} faults ({', '.join(report.faults)}), seed {report.seed}, "
        f"max_retries {report.max_retries}",
        f"  mix:        {', '.join(f'{k} {n}' for k, n in sorted(report.by_kind.items()))}",
        f"  success:    {report.ok}/{report.calls} = {report.success_rate:.4%} "
        f"(retries should give {report.expected_success:.4%}; floor {report.success_floor:.4%})",
        f"  errors:     {errors}",
        f"  foreign:    {len(report.foreign)}   wrong answers: {len(report.wrong_output)}",
        f"  latency:    p50 {lat['p50']:.1f} ms   p99 {lat['p99']:.1f} ms   "
        f"max {lat['max']:.1f} ms",
        f"  throughput: {report.calls / report.wall_s:.0f} calls/s over {report.wall_s:.1f} s; "
        f"client CPU {report.client_cpu_s:.1f} s",
        f"  RSS:        {rss['before']:.1f} MB -> {rss['after']:.1f} MB "
        f"(growth {rss['growth']:+.1f} MB; second half {rss['second_half_growth']:+.1f} MB)",
        f"  RSS trace:  {' '.join(f'{m:.0f}' for m in report.rss_samples_mb)} MB",
    ]
    for sample in (report.foreign + report.wrong_output)[:5]:
        lines.append("  example:    " + sample.strip().replace("\n", "\n              "))
    lines.append("  verdict:    " + ("; ".join(report.problems) or "ok"))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of requests hit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-retries", type=int, default=2, help="the client's (default 2)")
    parser.add_argument(
        "--max-rss-growth-mb",
        type=float,
        default=64.0,
        help="fail when RSS grows more than this over the second half of the run",
    )
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.calls < 1 or args.concurrency < 1 or not 0 <= args.fault_rate < 1:
        print("soak: --calls and --concurrency must be >= 1, --fault-rate in [0, 1)")
        return 2
    report = run(
        args.calls,
        args.concurrency,
        args.fault_rate,
        args.seed,
        max_retries=args.max_retries,
        max_rss_growth_mb=args.max_rss_growth_mb,
    )
    print(render(report), flush=True)
    if args.json is not None:
        payload = {**asdict(report), "success_rate": report.success_rate}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
