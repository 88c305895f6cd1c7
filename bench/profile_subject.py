"""Profile one subject's calls against a fresh local server: where does the client's CPU go?

    .venv/bin/python bench/profile_subject.py lc_ours --what chat --calls 2000
    .venv/bin/python bench/profile_subject.py li_ours --what stream --calls 20 --cprofile

pyinstrument (a statistical profiler; ``pip install pyinstrument``) prints a call tree by
default; ``--cprofile`` prints cProfile's top functions by own time and by cumulative time
instead, timed by CPU time (socket waits cost nothing there). Warm-up calls run first
and are not profiled.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable

from benchlib.measure.workloads import SHORT_PROMPT, long_prompt
from benchlib.server.process import ServerProcess
from benchlib.subjects.chat import ChatDriver, chat_subject


def _work(driver: ChatDriver, what: str, calls: int, tokens: int) -> Callable[[], None]:
    prompt = long_prompt(tokens)

    def chat() -> None:
        for _ in range(calls):
            driver.invoke(SHORT_PROMPT)

    def stream() -> None:
        for _ in range(calls):
            for _ in driver.stream(prompt):
                pass

    return chat if what == "chat" else stream


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("subject", help="a chat subject key: floor, core, lc_ours, li_ours, ...")
    parser.add_argument("--what", choices=("chat", "stream"), default="chat")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=2000, help="streamed answer length")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--top", type=int, default=35, help="cProfile rows to print")
    parser.add_argument(
        "--pace-us", type=float, default=300, help="microseconds between stream writes (run.py's)"
    )
    args = parser.parse_args(argv)
    with ServerProcess(pace_us=args.pace_us) as endpoint:
        driver = chat_subject(args.subject).driver(endpoint)
        _work(driver, args.what, max(1, args.calls // 10), args.tokens)()  # warm-up
        work = _work(driver, args.what, args.calls, args.tokens)
        if args.cprofile:
            profiler = cProfile.Profile(time.process_time)  # CPU time, not waits
            profiler.runcall(work)
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
                print(out.getvalue())
        else:
            from pyinstrument import Profiler

            with Profiler(interval=0.0002) as sampler:
                work()
            print(sampler.output_text(unicode=True, color=False, short_mode=False))
        driver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
