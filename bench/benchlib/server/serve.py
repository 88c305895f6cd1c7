"""``workers-ai serve`` as the benchmark needs it: streams paced like a model.

Pacing (``BENCH_STREAM_PACE_US``, microseconds between stream writes): a real model emits
tokens one by one, so each event reaches the client in a network read of its own. Unpaced, the
echo backend writes as fast as it can, and how many events a client finds per read then depends
on the client's own speed and the machine's load, which moves the CPU cost per token by a
third from run to run. Paced slower than any client parses, with one event per write (not
the local server's own regrouping, which cuts frames apart to test parsers), every client reads
every event alone, as in production.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator

from workers_ai import cli
from workers_ai_local import app

PACE_ENV = "BENCH_STREAM_PACE_US"


def _paced(pause: float) -> object:
    def one_frame_per_write(frames: Iterable[bytes]) -> Iterator[bytes]:
        # Runs in the server's worker threads (streams are iterated off the event loop). A
        # model's server flushes each event as the token is made; the local server's own
        # regrouping (two frames in one write, the next cut in half) exists to test parsers.
        for i, frame in enumerate(frames):
            if i:
                time.sleep(pause)
            yield frame

    return one_frame_per_write


_pace_us = float(os.environ.get(PACE_ENV) or 0)
if _pace_us > 0:
    setattr(app, "regroup_writes", _paced(_pace_us / 1e6))  # noqa: B010 (the app's own name)

if __name__ == "__main__":
    sys.exit(cli.main())
