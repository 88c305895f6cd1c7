"""Timing and memory primitives: CPU and wall clocks, summaries over rounds, resident memory."""

from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    """Median and spread of one quantity over several rounds."""

    median: float
    low: float  # smallest round
    high: float  # largest round
    rounds: int

    @classmethod
    def of(cls, samples: list[float]) -> Summary:
        if not samples:
            raise ValueError("no samples")
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    @property
    def spread(self) -> float:
        """(high - low) / median: how far apart the rounds were."""
        return (self.high - self.low) / self.median if self.median else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls(**data)


@dataclass(frozen=True)
class Sample:
    """Client CPU seconds and wall seconds spent on one batch of work."""

    cpu: float
    wall: float


def clocks() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def timed(work: Callable[[], object]) -> Sample:
    """Run ``work`` once, with a collection beforehand so that earlier garbage is not billed."""
    gc.collect()
    cpu0, wall0 = clocks()
    work()
    cpu1, wall1 = clocks()
    return Sample(cpu1 - cpu0, wall1 - wall0)


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize()


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
