"""Build every distribution of the repo and install each one alone, as a user would.

``make test`` runs it. For each package under ``integrations/`` it builds the sdist and the
wheel, checks what they hold (``py.typed``, the catalog, no stray top-level packages, the
LlamaIndex namespace packages left open), then installs the wheel with the core's wheel into a
fresh venv, imports its public names there, checks that the other framework did not come
along, and runs ``pip check``. The root's meta distribution is built too: metadata only, pinning
the five. Exits 1 naming every failure.

    python scripts/check_distributions.py [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "integrations"


@dataclass(frozen=True)
class Distribution:
    directory: str
    """Under integrations/."""
    name: str
    must_hold: tuple[str, ...]
    """Paths every wheel of it holds."""
    top_level: str
    """The one top-level directory of its wheel (besides the .dist-info)."""
    must_not_hold: tuple[str, ...] = ()
    imports: str = ""
    """Code run in the fresh venv: imports the public names and checks them."""
    absent: tuple[str, ...] = ()
    """Modules that must not be importable in that venv."""


DISTRIBUTIONS = (
    Distribution(
        "workers-ai",
        "workers-ai",
        ("workers_ai/__init__.py", "workers_ai/py.typed", "workers_ai/catalog.json"),
        "workers_ai",
        imports=(
            "from workers_ai import WorkersAI, AsyncWorkersAI, model_spec\n"
            "assert model_spec('@cf/zai-org/glm-4.7-flash').reasoning is not None\n"
            "WorkersAI(account_id='a', api_token='t')"
        ),
        absent=("langchain_core", "llama_index", "workers_ai_local", "starlette"),
    ),
    Distribution(
        "workers-ai-local",
        "workers-ai-local",
        ("workers_ai_local/__init__.py", "workers_ai_local/py.typed"),
        "workers_ai_local",
        imports=(
            "from workers_ai_local import LocalServer, make_backend\n"
            "assert make_backend('auto').name == 'echo'  # the llama extra is not installed"
        ),
        absent=("langchain_core", "llama_index", "llama_cpp"),
    ),
    Distribution(
        "langchain-workers-ai",
        "langchain-workers-ai",
        ("langchain_workers_ai/__init__.py", "langchain_workers_ai/py.typed"),
        "langchain_workers_ai",
        imports=(
            "from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings\n"
            "ChatWorkersAI(account_id='a', api_token='t')\n"
            "WorkersAIEmbeddings(account_id='a', api_token='t')"
        ),
        absent=("llama_index", "workers_ai_local"),
    ),
    Distribution(
        "llama-index-llms-workers-ai",
        "llama-index-llms-workers-ai",
        ("llama_index/llms/workers_ai/__init__.py", "llama_index/llms/workers_ai/py.typed"),
        "llama_index",
        must_not_hold=("llama_index/__init__.py", "llama_index/llms/__init__.py"),
        imports=(
            "from llama_index.llms.workers_ai import WorkersAI\n"
            "WorkersAI(account_id='a', api_token='t')"
        ),
        absent=("langchain_core", "llama_index.embeddings.workers_ai", "workers_ai_local"),
    ),
    Distribution(
        "llama-index-embeddings-workers-ai",
        "llama-index-embeddings-workers-ai",
        (
            "llama_index/embeddings/workers_ai/__init__.py",
            "llama_index/embeddings/workers_ai/py.typed",
        ),
        "llama_index",
        must_not_hold=("llama_index/__init__.py", "llama_index/embeddings/__init__.py"),
        imports=(
            "from llama_index.embeddings.workers_ai import WorkersAIEmbedding\n"
            "WorkersAIEmbedding(account_id='a', api_token='t')"
        ),
        absent=("langchain_core", "llama_index.llms.workers_ai", "workers_ai_local"),
    ),
)


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def build(dist: Distribution, out: Path) -> tuple[Path, Path]:
    """The sdist, and the wheel built from it (as pip builds one from PyPI's sdist)."""
    source = PACKAGES / dist.directory
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source)
    stem = dist.name.replace("-", "_")
    (sdist,) = out.glob(f"{stem}-*.tar.gz")
    (wheel,) = out.glob(f"{stem}-*.whl")
    return sdist, wheel


def check_contents(dist: Distribution, sdist: Path, wheel: Path) -> list[str]:
    problems: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for path in dist.must_hold:
        if path not in names:
            problems.append(f"{wheel.name} lacks {path}")
    for path in dist.must_not_hold:
        if path in names:
            problems.append(f"{wheel.name} holds {path} (it would close a namespace package)")
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    if tops != {dist.top_level}:
        problems.append(f"{wheel.name} has top-level {sorted(tops)}, expected {dist.top_level}")
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[-1] for m in archive.getmembers()}
    for path in ("pyproject.toml", "README.md", *dist.must_hold):
        if path not in members:
            problems.append(f"{sdist.name} lacks {path}")
    return problems


def check_alone(dist: Distribution, wheel: Path, core_wheel: Path, work: Path) -> list[str]:
    """Install ``wheel`` (with the core's) into a fresh venv; import it; pip check."""
    env_dir = work / f"venv-{dist.directory}"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    wheels = [core_wheel] if wheel == core_wheel else [core_wheel, wheel]
    run(python, "-m", "pip", "install", "--quiet", *wheels)
    absent = ", ".join(repr(m) for m in dist.absent)
    probe = (
        f"{dist.imports}\n"
        "import importlib.util\n"
        "def here(name):\n"
        "    try:\n"
        "        return importlib.util.find_spec(name) is not None\n"
        "    except ModuleNotFoundError:\n"
        "        return False\n"
        f"extra = [m for m in ({absent},) if here(m)]\n"
        "assert not extra, f'installed along: {extra}'\n"
    )
    problems: list[str] = []
    try:
        run(python, "-c", probe, cwd=work)  # not the repo: its sources must not be found
        run(python, "-m", "pip", "check")
    except RuntimeError as error:
        problems.append(f"{dist.name} installed alone: {error}")
    return problems


META_REQUIRES = {
    "workers-ai==0.1.0",
    "langchain-workers-ai==0.1.0; extra == 'langchain'",
    "llama-index-llms-workers-ai==0.1.0; extra == 'llama-index'",
    "llama-index-embeddings-workers-ai==0.1.0; extra == 'llama-index'",
    "workers-ai-local[llama]==0.1.0; extra == 'local'",
}


def check_meta(out: Path) -> list[str]:
    """The root's meta distribution: no code of its own, and it pins the packages."""
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    (wheel,) = out.glob("workers_ai_integrations-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = {
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        }
    problems = [f"{wheel.name} holds {n}" for n in names if ".dist-info/" not in n]
    problems += [f"{wheel.name} does not require {r}" for r in sorted(META_REQUIRES - requires)]
    print(f"workers-ai-integrations: {'ok' if not problems else 'FAILED'} ({wheel.name})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, help="where the sdists and wheels go (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the venvs (printed)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="dists-"))
    out = args.out or work / "dist"
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    try:
        built = {d.name: build(d, out) for d in DISTRIBUTIONS}
        core_wheel = built["workers-ai"][1]
        for dist in DISTRIBUTIONS:
            sdist, wheel = built[dist.name]
            found = check_contents(dist, sdist, wheel)
            found += check_alone(dist, wheel, core_wheel, work)
            print(f"{dist.name}: {'ok' if not found else 'FAILED'} ({wheel.name}, {sdist.name})")
            problems += found
        problems += check_meta(out)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
