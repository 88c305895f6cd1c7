"""What each figure does in the client process. Every function returns plain JSON data.

- figures 1 and 2 (``per_call``): every chat subject in one process, rounds interleaved (the
  order rotates each round), so that a noisy moment on a shared machine hits all subjects and
  the paired ratio to the floor of the same round stays fair;
- figure 3 (``async_load``) and figure 4 (``embed_load``): one subject per process, so that
  the peak resident memory (figure 6) is that subject's alone;
- figure 5 lives in ``cold.py``, a script of its own: it must import nothing before the package
  it times.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from dataclasses import dataclass
from typing import Any

from benchlib.measure.sampling import Sample, clocks, peak_rss_bytes, rss_bytes, timed
from benchlib.server.process import Endpoint
from benchlib.subjects.chat import ChatDriver, chat_subject
from benchlib.subjects.embed import embed_subject, short_texts

SHORT_PROMPT = "What is the capital of France? Answer in one word."
_SENTENCE = (
    "the quick brown fox jumps over a lazy dog while seven bright stars glow above "
    "quiet rivers and distant mountains under an evening sky"
)


def long_prompt(answer_tokens: int) -> str:
    """A user message the echo backend answers with ``answer_tokens`` tokens ("Echo:" + words)."""
    return " ".join(itertools.islice(itertools.cycle(_SENTENCE.split()), answer_tokens - 1))


@dataclass(frozen=True)
class PerCallSize:
    rounds: int
    calls: int  # figure 1: calls per subject per round
    streams: int  # figure 2: streams per subject per round
    answer_tokens: int  # figure 2: tokens in each streamed answer
    warmup_calls: int


def _stream_once(driver: ChatDriver, prompt: str) -> tuple[int, float]:
    """Drain one stream: (text deltas received, seconds to the first one)."""
    start = time.perf_counter()
    first = 0.0
    count = 0
    for _ in driver.stream(prompt):
        if count == 0:
            first = time.perf_counter() - start
        count += 1
    return count, first


def per_call(endpoint: Endpoint, size: PerCallSize, keys: list[str]) -> dict[str, Any]:
    """Figures 1 and 2 for the chat subjects ``keys``: client CPU and wall per call, per round;
    for streams also the tokens received and the time to the first token."""
    drivers = {key: chat_subject(key).driver(endpoint) for key in keys}
    prompt = long_prompt(size.answer_tokens)
    for driver in drivers.values():  # warm-up: lazy imports, pools, first-call caches
        for _ in range(size.warmup_calls):
            driver.invoke(SHORT_PROMPT)
        _stream_once(driver, prompt)
    out: dict[str, Any] = {
        key: {"chat": [], "stream": [], "tokens": [], "ttft": []} for key in drivers
    }
    order = list(drivers)
    for round_no in range(size.rounds):
        turn = order[round_no % len(order) :] + order[: round_no % len(order)]
        for key in turn:
            driver = drivers[key]

            def chats(d: ChatDriver = driver) -> None:
                for _ in range(size.calls):
                    d.invoke(SHORT_PROMPT)

            sample = timed(chats)
            out[key]["chat"].append(_per(sample, size.calls))
            firsts: list[float] = []
            tokens: list[int] = []

            def streams(
                d: ChatDriver = driver, tokens: list[int] = tokens, firsts: list[float] = firsts
            ) -> None:
                for _ in range(size.streams):
                    count, first = _stream_once(d, prompt)
                    tokens.append(count)
                    firsts.append(first)

            sample = timed(streams)
            out[key]["stream"].append(_per(sample, size.streams))
            out[key]["tokens"].extend(tokens)
            out[key]["ttft"].extend(firsts)
    for driver in drivers.values():
        driver.close()
    return out


def _per(sample: Sample, count: int) -> dict[str, float]:
    return {"cpu": sample.cpu / count, "wall": sample.wall / count}


def async_load(
    endpoint: Endpoint, key: str, calls: int, concurrency: int, rounds: int
) -> dict[str, Any]:
    """Figure 3 (and 6): ``calls`` async chats, ``concurrency`` in flight, per round."""
    driver = chat_subject(key).driver(endpoint)
    rss_before = rss_bytes()

    async def batch(count: int) -> None:
        left = iter(range(count))

        async def worker() -> None:
            for _ in left:
                await driver.ainvoke(SHORT_PROMPT)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))

    async def main() -> list[dict[str, float]]:
        await batch(min(calls, 2 * concurrency))  # warm-up: open the pool's connections
        samples = []
        for _ in range(rounds):
            cpu0, wall0 = clocks()
            await batch(calls)
            cpu1, wall1 = clocks()
            samples.append({"cpu": (cpu1 - cpu0) / calls, "wall": wall1 - wall0})
        await driver.aclose()
        return samples

    samples = asyncio.run(main())
    driver.close()
    return {
        "rounds": samples,
        "rps": [calls / s["wall"] for s in samples],
        "rss_before": rss_before,
        "rss_peak": peak_rss_bytes(),
    }


def embed_load(
    endpoint: Endpoint, key: str, mode: str, texts: int, rounds: int, budget: float
) -> dict[str, Any]:
    """Figure 4 (and 6): embed ``texts`` short texts with the subject's defaults, per round;
    stops early (after at least one round) once ``budget`` seconds are spent. Async rounds
    share one event loop, as in an application."""
    driver = embed_subject(key).driver(endpoint)
    data = short_texts(texts)
    rss: list[int] = []

    def check(vectors: list[list[float]]) -> None:
        if len(vectors) != texts:
            raise RuntimeError(f"{key} returned {len(vectors)} vectors for {texts} texts")

    def sync_rounds() -> list[Sample]:
        driver.embed(data[:10])  # warm-up: lazy imports and the first connection
        rss.append(rss_bytes())
        samples: list[Sample] = []
        while len(samples) < rounds and sum(s.wall for s in samples) <= budget:
            samples.append(timed(lambda: check(driver.embed(data))))
        return samples

    async def async_rounds() -> list[Sample]:
        await driver.aembed(data[:10])
        rss.append(rss_bytes())
        samples: list[Sample] = []
        while len(samples) < rounds and sum(s.wall for s in samples) <= budget:
            gc.collect()
            cpu0, wall0 = clocks()
            check(await driver.aembed(data))
            cpu1, wall1 = clocks()
            samples.append(Sample(cpu1 - cpu0, wall1 - wall0))
        await driver.aclose()
        return samples

    samples = sync_rounds() if mode == "sync" else asyncio.run(async_rounds())
    driver.close()
    return {
        "rounds": [{"cpu": s.cpu, "wall": s.wall} for s in samples],
        "rss_before": rss[0],
        "rss_peak": peak_rss_bytes(),
    }
