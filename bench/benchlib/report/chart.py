"""The headline chart: every subject's ratio to the floor, one panel per figure (PNG, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import ScalarFormatter

from benchlib.report.analysis import (
    ADAPTER_TARGET,
    CORE_TARGET,
    Row,
    async_rows,
    chat_cpu_rows,
    embed_rows,
    stream_rows,
)

LOG_ABOVE = 8.0
COLOURS = {"floor": "#9e9e9e", "ours": "#1f77b4", "peer": "#ff7f0e"}


def _panel(ax: Any, title: str, rows: list[Row], ratio_of: str = "ratio") -> None:
    labels, values, colours = [], [], []
    for row in rows:
        ratio = row.ratio if ratio_of == "ratio" else row.extra[ratio_of]
        if ratio is None:
            continue
        labels.append(row.label)
        values.append(ratio.median)
        colours.append(COLOURS[row.kind])
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, labels, fontsize=8)
    if max(values) > LOG_ABOVE:  # a far outlier: log scale, plain tick labels
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.axvline(CORE_TARGET, color="#2ca02c", linestyle="--", linewidth=0.8)
    ax.axvline(ADAPTER_TARGET, color="#d62728", linestyle=":", linewidth=0.8)
    for y, value in zip(positions, values, strict=True):
        ax.text(value, y, f" {value:.2f}x", va="center", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_xlim(right=max([*values, 1.5]) * (2.5 if max(values) > LOG_ABOVE else 1.25))
    ax.tick_params(axis="x", labelsize=7)


def draw(raw: dict[str, Any], path: Path) -> None:
    size = raw["size"]
    panels = [
        ("1. chat: client CPU per call", chat_cpu_rows(raw["per_call"]), "ratio"),
        (
            f"2. stream: CPU per token ({size['answer_tokens']} tokens)",
            stream_rows(raw["per_call"]),
            "ratio",
        ),
        (
            f"3. async x{size['concurrency']}: CPU per request",
            async_rows(raw["async"]),
            "cpu_ratio",
        ),
        (f"3. async x{size['concurrency']}: floor rate / rate", async_rows(raw["async"]), "ratio"),
        (
            f"4. embed {size['texts']:,} texts, sync: wall",
            embed_rows(raw["embed"], "sync"),
            "ratio",
        ),
        (
            f"4. embed {size['texts']:,} texts, async: wall",
            embed_rows(raw["embed"], "async"),
            "ratio",
        ),
    ]
    fig, axes = plt.subplots(3, 2, figsize=(11, 9.5))
    for ax, (title, rows, ratio_of) in zip(axes.flat, panels, strict=True):
        _panel(ax, title, rows, ratio_of)
    fig.suptitle(
        "Ratio to the floor (raw httpx) in the same run; lower is better. "
        f"Dashed {CORE_TARGET:.2f}x (core target), dotted {ADAPTER_TARGET:.2f}x (adapters). "
        "Grey floor, blue ours, orange peers.",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
