"""Raw worker results -> rows per figure (median, spread, ratio to the floor) and target checks."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchlib.measure.sampling import Summary
from benchlib.subjects.chat import CHAT_SUBJECTS, Kind
from benchlib.subjects.embed import EMBED_SUBJECTS

CORE_TARGET = 1.10
ADAPTER_TARGET = 1.30
CONSTRUCTION_TARGET = 1e-3  # seconds


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    kind: Kind
    value: Summary  # the figure's main quantity, in seconds (or requests/s for figure 3)
    ratio: Summary | None  # to the floor; lower is better for every figure
    extra: dict[str, Any] = field(default_factory=dict)


def _chat_meta(key: str) -> tuple[str, Kind]:
    subject = next(s for s in CHAT_SUBJECTS if s.key == key)
    return subject.label, subject.kind


def _embed_meta(key: str) -> tuple[str, Kind, str]:
    subject = next(s for s in EMBED_SUBJECTS if s.key == key)
    return subject.label, subject.kind, str(getattr(subject.driver, "batching", ""))


def _paired(values: list[float], floor: list[float]) -> Summary:
    """Ratio per round to the floor's value in the same round, summarised."""
    return Summary.of([v / f for v, f in zip(values, floor, strict=True)])


def _ratio_of_medians(values: list[float], floor: list[float]) -> Summary:
    """For separate runs (not paired): every round against the floor's median."""
    base = statistics.median(floor)
    return Summary.of([v / base for v in values])


FRAMEWORK_FLOORS = {"langchain": "lc_floor", "llama_index": "li_floor"}


def _framework_ratio(key: str, values: dict[str, list[float]]) -> Summary | None:
    """Paired ratio to the bare model of the subject's own framework (None: no framework)."""
    floor = FRAMEWORK_FLOORS.get(framework(key))
    if floor is None or floor == key or floor not in values:
        return None
    return _paired(values[key], values[floor])


def chat_cpu_rows(per_call: dict[str, Any]) -> list[Row]:
    """Figure 1: client CPU per non-streaming chat."""
    cpu = {key: [r["cpu"] for r in data["chat"]] for key, data in per_call.items()}
    rows = []
    for key, data in per_call.items():
        wall = [r["wall"] for r in data["chat"]]
        label, kind = _chat_meta(key)
        extra = {"wall": Summary.of(wall), "framework_ratio": _framework_ratio(key, cpu)}
        rows.append(
            Row(key, label, kind, Summary.of(cpu[key]), _paired(cpu[key], cpu["floor"]), extra)
        )
    return rows


def _per_token(data: dict[str, Any]) -> list[float]:
    tokens = statistics.mean(data["tokens"])
    return [r["cpu"] / tokens for r in data["stream"]]


def stream_rows(per_call: dict[str, Any]) -> list[Row]:
    """Figure 2: client CPU per streamed token, and time to the first token."""
    per_token = {key: _per_token(data) for key, data in per_call.items()}
    rows = []
    for key, data in per_call.items():
        label, kind = _chat_meta(key)
        extra = {
            "ttft": Summary.of(data["ttft"]),
            "tokens": int(statistics.median(data["tokens"])),
            "wall": Summary.of([r["wall"] for r in data["stream"]]),
            "framework_ratio": _framework_ratio(key, per_token),
        }
        value = Summary.of(per_token[key])
        rows.append(
            Row(key, label, kind, value, _paired(per_token[key], per_token["floor"]), extra)
        )
    return rows


def async_rows(results: dict[str, Any]) -> list[Row]:
    """Figure 3: requests per second at the given concurrency; the ratio is the floor's rate
    over the subject's (so lower is better, like every other ratio here)."""
    floor_rps = results["floor"]["rps"]
    rows = []
    for key, data in results.items():
        label, kind = _chat_meta(key)
        base = statistics.median(floor_rps)
        ratio = Summary.of([base / r for r in data["rps"]])
        cpu = [r["cpu"] for r in data["rounds"]]
        floor_cpu = [r["cpu"] for r in results["floor"]["rounds"]]
        extra = {
            "cpu": Summary.of(cpu),
            "cpu_ratio": _ratio_of_medians(cpu, floor_cpu),
            "rss_peak": data["rss_peak"],
            "rss_before": data["rss_before"],
        }
        rows.append(Row(key, label, kind, Summary.of(data["rps"]), ratio, extra))
    return rows


def embed_rows(results: dict[str, Any], mode: str) -> list[Row]:
    """Figure 4: wall time to embed all the texts, for ``mode`` (sync or async)."""
    floor = [r["wall"] for r in results[f"floor/{mode}"]["rounds"]]
    rows = []
    for name, data in results.items():
        key, its_mode = name.split("/")
        if its_mode != mode:
            continue
        label, kind, batching = _embed_meta(key)
        wall = [r["wall"] for r in data["rounds"]]
        extra = {
            "cpu": Summary.of([r["cpu"] for r in data["rounds"]]),
            "batching": batching,
            "rss_peak": data["rss_peak"],
            "rss_before": data["rss_before"],
        }
        rows.append(Row(key, label, kind, Summary.of(wall), _ratio_of_medians(wall, floor), extra))
    return rows


@dataclass(frozen=True)
class ImportRow:
    module: str
    kind: Kind
    wall: Summary
    cpu: Summary


@dataclass(frozen=True)
class BuildRow:
    name: str  # "chat:core", "embed:lc_ours", ...
    label: str
    kind: Kind
    first: float
    rest: Summary


def cold_rows(cold: dict[str, Any]) -> tuple[list[ImportRow], list[BuildRow]]:
    """Figure 5: import time per module (fresh interpreters), construction per subject."""
    kinds: dict[str, Kind] = {s.module: s.kind for s in CHAT_SUBJECTS}
    kinds.update({s.module: s.kind for s in EMBED_SUBJECTS})
    imports = [
        ImportRow(
            module,
            kinds[module],
            Summary.of([r["import_wall"] for r in data["imports"]]),
            Summary.of([r["import_cpu"] for r in data["imports"]]),
        )
        for module, data in cold.items()
    ]
    builds = []
    for data in cold.values():
        for name, times in data["builds"].items():
            group, key = name.split(":")
            if group == "chat":
                label, kind = _chat_meta(key)
            else:
                label, kind, _ = _embed_meta(key)
            rest = Summary.of(times["rest"]) if times["rest"] else Summary.of([times["first"]])
            builds.append(BuildRow(name, label, kind, times["first"], rest))
    return imports, builds


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    met: bool


def framework(name: str) -> str:
    """``langchain``, ``llama_index`` or ``""`` (no framework) for a subject key or module."""
    if name.startswith(("lc_", "langchain")):
        return "langchain"
    if name.startswith(("li_", "llama_index")):
        return "llama_index"
    return ""


def rivals(ours: str, peers: list[str]) -> list[str]:
    """The peers a class of ours is held against: those of its own framework, else all."""
    same = [p for p in peers if framework(p) == framework(ours) != ""]
    return same or peers


def ratio_checks(fig1: list[Row], fig2: list[Row]) -> list[Check]:
    checks = []
    limits = {"core": CORE_TARGET, "lc_ours": ADAPTER_TARGET, "li_ours": ADAPTER_TARGET}
    for name, rows in (("figure 1", fig1), ("figure 2", fig2)):
        for row in rows:
            if row.key in limits and row.ratio is not None:
                limit = limits[row.key]
                checks.append(
                    Check(
                        f"{name}: {row.label} within {limit:.2f}x of the floor",
                        f"{row.ratio.median:.2f}x",
                        row.ratio.median <= limit,
                    )
                )
    return checks


def _median(value: float | Summary) -> float:
    return value.median if isinstance(value, Summary) else value


def tied(a: float | Summary, b: float | Summary) -> bool:
    """Each median inside the other's range of rounds: which one is ahead is down to noise."""
    return (
        isinstance(a, Summary)
        and isinstance(b, Summary)
        and a.rounds > 1
        and b.rounds > 1
        and a.low <= b.median <= a.high
        and b.low <= a.median <= b.high
    )


def ahead_check(
    name: str,
    values: dict[str, float | Summary],
    kinds: dict[str, Kind],
    fmt: Callable[[float], str],
    higher: bool = False,
) -> Check:
    """Every class of ours ahead of every rival peer on one quantity (``values`` by key). A
    pair whose medians each lie in the other's range of rounds is a tie, not a win or a loss."""
    peers = [k for k in values if kinds[k] == "peer"]
    losses, ties, closest = [], [], ""
    margin = float("inf")
    for ours in (k for k in values if kinds[k] == "ours"):
        for peer in rivals(ours, peers):
            a, b = _median(values[ours]), _median(values[peer])
            pair = f"{ours} {fmt(a)} vs {peer} {fmt(b)}"
            if tied(values[ours], values[peer]):
                ties.append(pair)
            elif a > b if higher else a < b:
                gap = (a / b if higher else b / a) if a and b else float("inf")
                if gap < margin:
                    margin, closest = gap, pair
            else:
                losses.append(pair)
    found = []
    if losses:
        found.append("behind: " + "; ".join(losses))
    if ties:
        found.append("tied (within the rounds' spread): " + "; ".join(ties))
    measured = " / ".join(found) if found else f"closest: {closest}"
    return Check(f"{name}: ours ahead of every peer", measured, not found)
