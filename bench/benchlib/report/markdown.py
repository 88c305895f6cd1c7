"""The raw measurements as bench/RESULTS.md: machine, subjects, one table per figure, targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchlib.measure.sampling import Summary
from benchlib.report.analysis import (
    ADAPTER_TARGET,
    CONSTRUCTION_TARGET,
    CORE_TARGET,
    BuildRow,
    Check,
    ImportRow,
    Row,
    ahead_check,
    async_rows,
    chat_cpu_rows,
    cold_rows,
    embed_rows,
    ratio_checks,
    stream_rows,
)
from benchlib.subjects.chat import CHAT_SUBJECTS, MODEL
from benchlib.subjects.embed import EMBED_SUBJECTS
from benchlib.subjects.embed import MODEL as EMBED_MODEL

MIB = 1024**2


def _us(x: float) -> str:
    return f"{x * 1e6:,.0f} µs" if x >= 1e-5 else f"{x * 1e6:.2f} µs"


def _ms(x: float) -> str:
    return f"{x * 1e3:,.1f} ms" if x < 10 else f"{x * 1e3:,.0f} ms"


def _s(x: float) -> str:
    return f"{x:,.2f} s"


def _mib(x: float) -> str:
    return f"{x / MIB:,.0f} MiB"


def _rps(x: float) -> str:
    return f"{x:,.0f}/s"


def _spread(summary: Summary, fmt: Callable[[float], str]) -> str:
    if summary.rounds < 2:
        return fmt(summary.median)
    return f"{fmt(summary.median)} ({fmt(summary.low)}\N{EN DASH}{fmt(summary.high)})"


def _ratio(summary: Summary | None) -> str:
    if summary is None:
        return "-"
    if summary.rounds < 2:
        return f"**{summary.median:.2f}x**"
    return f"**{summary.median:.2f}x** ({summary.low:.2f}\N{EN DASH}{summary.high:.2f})"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _machine(raw: dict[str, Any]) -> list[str]:
    m, size = raw["machine"], raw["size"]
    rows = [
        ("date", m["started"]),
        ("CPU", m["cpu"]),
        ("cores", str(m["cores"])),
        ("memory", f"{m['memory_gib']:.0f} GiB"),
        ("Python", m["python"]),
        ("OS", m["system"]),
        ("commit", m["commit"]),
        ("load average (1/5/15 min) at start / end", f"{m['load_start']} / {raw['load_end']}"),
        ("size / run time", f"{size['name']} / {raw['elapsed']:.0f} s"),
    ]
    lines = _table(("", ""), rows)
    versions = sorted(m["versions"].items())
    return [*lines, *_table(("package", "version"), versions)]


def _subjects(raw: dict[str, Any]) -> list[str]:
    versions = raw["machine"]["versions"]
    rows = [
        (f"`{s.key}`", s.label, s.kind, f"{s.package} {versions.get(s.package, '')}", s.how)
        for s in CHAT_SUBJECTS
    ]
    rows += [
        (
            f"`{s.key}`",
            s.label,
            s.kind,
            f"{s.package} {versions.get(s.package, '')}",
            f"{s.how}; batching: {getattr(s.driver, 'batching', '')}",
        )
        for s in EMBED_SUBJECTS
        if s.kind != "floor"
    ]
    return _table(("key", "class", "kind", "package", "pointed at the local server by"), rows)


def _fig1(rows: list[Row]) -> list[str]:
    body = [
        (
            f"`{r.key}` {r.label}",
            _spread(r.value, _us),
            _ratio(r.ratio),
            _ratio(r.extra["framework_ratio"]),
            _spread(r.extra["wall"], _us),
        )
        for r in rows
    ]
    header = (
        "subject",
        "client CPU per call",
        "ratio to floor",
        "ratio to its framework's bare model",
        "wall per call",
    )
    return _table(header, body)


def _fig2(rows: list[Row]) -> list[str]:
    body = [
        (
            f"`{r.key}` {r.label}",
            _spread(r.value, _us),
            _ratio(r.ratio),
            _ratio(r.extra["framework_ratio"]),
            _spread(r.extra["ttft"], _ms),
            _spread(r.extra["wall"], _ms),
            str(r.extra["tokens"]),
        )
        for r in rows
    ]
    header = (
        "subject",
        "client CPU per token",
        "ratio to floor",
        "ratio to its framework's bare model",
        "time to first token",
        "wall per stream",
        "tokens",
    )
    return _table(header, body)


def _pacing(raw: dict[str, Any]) -> str:
    pace = raw.get("server", {}).get("pace_us", 0)
    if not pace:
        return "The server streams unpaced, as fast as it can."
    return (
        f"The server writes stream events {pace:g} µs apart (`bench/benchlib/server/serve.py`), "
        "slower than any subject parses one, so every client reads every event alone, as it does "
        "from a real model; unpaced, the events per read (and so the CPU per token) would depend "
        "on each client's own speed and the machine's load."
    )


def _fig3(rows: list[Row]) -> list[str]:
    body = [
        (
            f"`{r.key}` {r.label}",
            _spread(r.value, _rps),
            _ratio(r.ratio),
            _spread(r.extra["cpu"], _us),
            _ratio(r.extra["cpu_ratio"]),
            f"{_mib(r.extra['rss_peak'])} (+{_mib(r.extra['rss_peak'] - r.extra['rss_before'])})",
        )
        for r in rows
    ]
    header = (
        "subject",
        "requests/s",
        "floor's rate / this rate",
        "client CPU per request",
        "CPU ratio to floor",
        "peak RSS (growth during the run)",
    )
    return _table(header, body)


def _fig4(rows: list[Row]) -> list[str]:
    body = [
        (
            f"`{r.key}` {r.label}",
            _spread(r.value, _s),
            _ratio(r.ratio),
            _spread(r.extra["cpu"], _s),
            f"{_mib(r.extra['rss_peak'])} (+{_mib(r.extra['rss_peak'] - r.extra['rss_before'])})",
            r.extra["batching"],
        )
        for r in rows
    ]
    header = ("subject", "wall", "ratio to floor", "client CPU", "peak RSS (growth)", "batching")
    return _table(header, body)


def _fig5(imports: list[ImportRow], builds: list[BuildRow]) -> list[str]:
    lines = _table(
        ("module", "kind", "import wall", "import CPU"),
        [(f"`{r.module}`", r.kind, _spread(r.wall, _ms), _spread(r.cpu, _ms)) for r in imports],
    )
    lines += _table(
        ("object", "kind", "first construction in the process", "construction (median)"),
        [(f"{b.label} ({b.name})", b.kind, _ms(b.first), _spread(b.rest, _us)) for b in builds],
    )
    return lines


def _checks(checks: list[Check]) -> list[str]:
    return _table(
        ("target", "measured", "met"),
        [(c.target, c.measured, "yes" if c.met else "**no**") for c in checks],
    )


def _build_key(build: BuildRow) -> str:
    group, key = build.name.split(":")
    return f"{key} ({group})"


def _kinds(rows: Sequence[Row]) -> dict[str, Any]:
    return {r.key: r.kind for r in rows}


def _all_checks(
    fig1: list[Row],
    fig2: list[Row],
    fig3: list[Row],
    fig4: dict[str, list[Row]],
    imports: list[ImportRow],
    builds: list[BuildRow],
) -> list[Check]:
    checks = ratio_checks(fig1, fig2)

    def ahead(
        name: str, rows: list[Row], fmt: Callable[[float], str], higher: bool = False
    ) -> None:
        values: dict[str, float | Summary] = {r.key: r.value for r in rows}
        checks.append(ahead_check(name, values, _kinds(rows), fmt, higher))

    ahead("figure 1 (CPU per call)", fig1, _us)
    ahead("figure 2 (CPU per token)", fig2, _us)
    ttft: dict[str, float | Summary] = {r.key: r.extra["ttft"] for r in fig2}
    checks.append(ahead_check("figure 2 (time to first token)", ttft, _kinds(fig2), _ms))
    ahead("figure 3 (requests/s)", fig3, _rps, higher=True)
    for mode, rows in fig4.items():
        ahead(f"figure 4 ({mode} wall)", rows, _s)
    peak3: dict[str, float | Summary] = {r.key: float(r.extra["rss_peak"]) for r in fig3}
    checks.append(ahead_check("figure 6 (peak RSS, figure 3)", peak3, _kinds(fig3), _mib))
    for mode, rows in fig4.items():
        peak: dict[str, float | Summary] = {r.key: float(r.extra["rss_peak"]) for r in rows}
        checks.append(
            ahead_check(f"figure 6 (peak RSS, figure 4 {mode})", peak, _kinds(rows), _mib)
        )
    import_values: dict[str, float | Summary] = {r.module: r.wall for r in imports}
    import_kinds = {r.module: r.kind for r in imports}
    checks.append(ahead_check("figure 5 (import)", import_values, import_kinds, _ms))
    for group in ("chat", "embed"):
        mine = [b for b in builds if b.name.startswith(f"{group}:")]
        values: dict[str, float | Summary] = {_build_key(b): b.rest for b in mine}
        kinds = {_build_key(b): b.kind for b in mine}
        checks.append(ahead_check(f"figure 5 (construction, {group})", values, kinds, _us))
    for b in builds:
        if b.kind == "ours":
            checks.append(
                Check(
                    f"figure 5: {b.label} ({b.name}) constructs in under 1 ms",
                    f"{_us(b.rest.median)} (first in the process {_ms(b.first)})",
                    b.rest.median < CONSTRUCTION_TARGET,
                )
            )
    return checks


def render(raw: dict[str, Any], chart_link: str) -> str:
    size = raw["size"]
    fig1 = chat_cpu_rows(raw["per_call"])
    fig2 = stream_rows(raw["per_call"])
    fig3 = async_rows(raw["async"])
    fig4 = {mode: embed_rows(raw["embed"], mode) for mode in ("sync", "async")}
    imports, builds = cold_rows(raw["cold"])
    checks = _all_checks(fig1, fig2, fig3, fig4, imports, builds)
    met = sum(c.met for c in checks)
    out = [
        "# Benchmarks: what a user pays for the client",
        "",
        f"Written by `bench/run.py --size {size['name']}` on {raw['machine']['started']}. "
        "The local server (`workers-ai serve --backend echo`) runs in its own process over "
        "loopback, so its cost is the same for every subject; every number below is the client "
        "process's. The headline is each subject's **ratio to the floor** (raw httpx) measured "
        "in the same run; absolute times are context only (a shared 2-core machine). Medians "
        "over rounds after a warm-up, with the smallest and largest round in brackets.",
        "",
        f"![ratios to the floor]({chart_link})",
        "",
        f"## Targets ({met} of {len(checks)} met)",
        "",
        f"Core within {CORE_TARGET:.2f}x of the floor on figures 1 and 2, ChatWorkersAI and "
        f"LlamaIndex WorkersAI within {ADAPTER_TARGET:.2f}x; every class of ours ahead of every "
        "peer (a LangChain or LlamaIndex class of ours against the peers of its own framework "
        "where there are any, the core against all); construction under 1 ms. Where two "
        "medians each fall inside the other's range of rounds, the pair is reported as tied: "
        "the run cannot tell which is ahead, and the target counts as not met.",
        "",
        *_checks(checks),
        "## Subjects",
        "",
        f"Chat model `{MODEL}` (native `/ai/run` reply; `ChatOpenAI` gets the same model on "
        f"`/ai/v1/chat/completions`); embeddings `{EMBED_MODEL}` (768 dimensions). "
        "Every subject runs with its own defaults.",
        "",
        *_subjects(raw),
        "## 1. Non-streaming chat: client CPU per call",
        "",
        f"A short question, {size['calls']} calls per subject per round, {size['rounds']} "
        "rounds interleaved across subjects (one process, the order rotating each round); the "
        "ratio is taken per round against the floor's round, then the median.",
        "",
        *_fig1(fig1),
        "## 2. Streaming: client CPU per token, time to first token",
        "",
        f"A user message of {size['answer_tokens'] - 1} words that the echo backend streams "
        f"back as a {size['answer_tokens']}-token answer (`max_tokens` 4096), {size['streams']} "
        f"streams per subject per round, {size['rounds']} rounds, interleaved as in figure 1. "
        f"{_pacing(raw)}",
        "",
        *_fig2(fig2),
        f"## 3. Async: {size['async_calls']} chats at concurrency {size['concurrency']}",
        "",
        f"One process per subject, one event loop, {size['concurrency']} tasks sharing the "
        f"subject's object; {size['async_rounds']} rounds after a warm-up. Requests per second "
        "is bounded by both the client and the server (two cores for both), so the client CPU "
        "per request is the cleaner comparison. Peak RSS is figure 6.",
        "",
        *_fig3(fig3),
        f"## 4. Embeddings: {size['texts']:,} short texts",
        "",
        "Wall time to embed every text with one call of the subject's batch method "
        "(`embed_documents` / `get_text_embedding_batch` / `embed`, and their async versions), "
        "with the subject's default batch size and concurrency. One process per subject and "
        "mode; at most "
        f"{size['embed_rounds']} rounds, fewer once {size['embed_budget']:.0f} s are spent. "
        "Peak RSS is figure 6.",
        "",
    ]
    for mode, rows in fig4.items():
        out += [f"### {mode}", "", *_fig4(rows)]
    out += [
        "## 5. Cold start: import and construction",
        "",
        f"Import: `import <module>` in a fresh interpreter that has imported nothing else, "
        f"{size['import_reps']} interpreters per module. Construction: the subject's object "
        f"built with explicit credentials and base URL; the first build in the process, then "
        f"the median of {size['constructions']} more.",
        "",
        *_fig5(imports, builds),
        "## 6. Memory",
        "",
        "Peak resident set size of the client process during figures 3 and 4 (their tables), "
        "with the growth over the resident size before the measured work.",
        "",
        "## Machine",
        "",
        *_machine(raw),
    ]
    return "\n".join(out).rstrip() + "\n"
