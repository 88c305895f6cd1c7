"""The client process of figures 1-4 (and 6): run one workload, print its result as JSON.

    cd bench
    python -m benchlib.measure.worker per-call --subjects floor,core ... ENDPOINT
    python -m benchlib.measure.worker async --subject core --calls 2000 --concurrency 64 ...
    python -m benchlib.measure.worker embed --subject core --mode sync --texts 10000 ...

ENDPOINT is ``--base-url URL --account-id ID --token T`` (the server ``run.py`` started).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from benchlib.measure.workloads import PerCallSize, async_load, embed_load, per_call
from benchlib.server.process import Endpoint


def _parser() -> argparse.ArgumentParser:
    endpoint = argparse.ArgumentParser(add_help=False)
    endpoint.add_argument("--base-url", required=True)
    endpoint.add_argument("--account-id", required=True)
    endpoint.add_argument("--token", required=True)
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sync = commands.add_parser("per-call", parents=[endpoint])
    sync.add_argument("--subjects", required=True, help="comma-separated chat subject keys")
    sync.add_argument("--rounds", type=int, required=True)
    sync.add_argument("--calls", type=int, required=True)
    sync.add_argument("--streams", type=int, required=True)
    sync.add_argument("--answer-tokens", type=int, required=True)
    sync.add_argument("--warmup", type=int, required=True)

    load = commands.add_parser("async", parents=[endpoint])
    load.add_argument("--subject", required=True)
    load.add_argument("--calls", type=int, required=True)
    load.add_argument("--concurrency", type=int, required=True)
    load.add_argument("--rounds", type=int, required=True)

    embed = commands.add_parser("embed", parents=[endpoint])
    embed.add_argument("--subject", required=True)
    embed.add_argument("--mode", choices=("sync", "async"), required=True)
    embed.add_argument("--texts", type=int, required=True)
    embed.add_argument("--rounds", type=int, required=True)
    embed.add_argument("--budget", type=float, required=True, help="seconds; at least 1 round")
    return parser


def run(argv: list[str]) -> dict[str, Any]:
    args = _parser().parse_args(argv)
    endpoint = Endpoint(args.base_url, args.account_id, args.token)
    if args.command == "per-call":
        size = PerCallSize(
            rounds=args.rounds,
            calls=args.calls,
            streams=args.streams,
            answer_tokens=args.answer_tokens,
            warmup_calls=args.warmup,
        )
        return per_call(endpoint, size, args.subjects.split(","))
    if args.command == "async":
        return async_load(endpoint, args.subject, args.calls, args.concurrency, args.rounds)
    return embed_load(endpoint, args.subject, args.mode, args.texts, args.rounds, args.budget)


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:])))
