"""Figure 5 in a fresh interpreter: the import time of one package, then the build time of each
subject that lives in it. Every name in the package's ``__all__`` is looked up as part of
the import. Nothing but the standard library's bare minimum is imported before
the timed import, so the package pays for all of its own dependencies.

    python bench/benchlib/measure/cold.py MODULE [--construct N --base-url URL --account-id ID
        --token T]

Prints one JSON object. Run by path, not with ``-m`` (which would import runpy, collections,
functools and importlib.util before the timed import); it puts bench/ first on the path itself.
"""

import importlib
import json
import os
import sys
import time

# bench/, three levels up; os is imported at interpreter start-up, so this costs no import.
BENCH = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _timed_import(module: str) -> dict[str, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    loaded = importlib.import_module(module)
    for name in getattr(loaded, "__all__", ()):
        # What `from module import Name` costs: a package that loads names on first use
        # (workers_ai's clients) pays for them here, not in the first construction.
        getattr(loaded, name)
    return {"import_wall": time.perf_counter() - wall0, "import_cpu": time.process_time() - cpu0}


def _builds(module: str, constructions: int, argv: list[str]) -> dict[str, object]:
    import argparse
    from collections.abc import Callable
    from typing import Any

    from benchlib.server.process import Endpoint
    from benchlib.subjects.chat import CHAT_SUBJECTS
    from benchlib.subjects.embed import EMBED_SUBJECTS

    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--account-id", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    endpoint = Endpoint(args.base_url, args.account_id, args.token)
    builders: list[tuple[str, Callable[[Endpoint], Any]]] = []
    builders += [(f"chat:{s.key}", s.driver) for s in CHAT_SUBJECTS if s.module == module]
    builders += [(f"embed:{s.key}", s.driver) for s in EMBED_SUBJECTS if s.module == module]
    out: dict[str, object] = {}
    for name, build in builders:
        start = time.perf_counter()
        driver = build(endpoint)  # the first object of its kind in this process
        first = time.perf_counter() - start
        rest = []
        for _ in range(constructions):
            start = time.perf_counter()
            driver.construct()
            rest.append(time.perf_counter() - start)
        out[name] = {"first": first, "rest": rest}
    return out


def main(argv: list[str]) -> None:
    module = argv[0]
    result: dict[str, object] = dict(_timed_import(module))
    if len(argv) > 2 and argv[1] == "--construct":
        result["builds"] = _builds(module, int(argv[2]), argv[3:])
    print(json.dumps(result))


if __name__ == "__main__":
    sys.path[0] = BENCH  # in place of this file's directory, as if run from bench/
    main(sys.argv[1:])
