"""What the numbers were measured on: CPU, cores, memory, Python, package versions, commit."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = (
    "workers-ai",
    "langchain-workers-ai",
    "llama-index-llms-workers-ai",
    "llama-index-embeddings-workers-ai",
    "httpx",
    "httpx-sse",
    "pydantic",
    "langchain-core",
    "llama-index-core",
    "langchain-cloudflare",
    "langchain-openai",
    "openai",
    "llama-index-embeddings-cloudflare-workersai",
    "requests",
    "aiohttp",
    "uvicorn",
    "starlette",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def _commit(repo: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "integrations")
    return f"{head} (integrations/ modified)" if dirty else head


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    python: str
    system: str
    commit: str
    started: str
    load_start: str
    versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def here(cls, repo: Path) -> Machine:
        return cls(
            cpu=_cpu_model(),
            cores=os.cpu_count() or 0,
            memory_gib=_memory_gib(),
            python=f"{platform.python_implementation()} {platform.python_version()}",
            system=f"{platform.system()} {platform.release()}",
            commit=_commit(repo),
            started=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            load_start=load_average(),
            versions={name: _version(name) for name in PACKAGES},
        )
