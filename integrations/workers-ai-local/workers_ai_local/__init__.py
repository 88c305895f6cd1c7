"""A local server that speaks the Cloudflare Workers AI wire contract.

Clients point ``WORKERS_AI_BASE_URL`` at it and cannot tell it from Cloudflare: same routes,
envelopes, three text-generation result families, SSE quirks and error codes. Models are
served by a pluggable synchronous :class:`Backend`; ``echo`` is deterministic and needs no
dependencies. Fault injection and a request log (``/__local__/...``) exist for tests.
"""

from workers_ai_local.app import create_app
from workers_ai_local.backends import Backend, GenerationRequest
from workers_ai_local.echo import EchoBackend
from workers_ai_local.registry import BackendUnavailable, make_backend
from workers_ai_local.server import LocalServer, run_server

__all__ = [
    "Backend",
    "BackendUnavailable",
    "EchoBackend",
    "GenerationRequest",
    "LocalServer",
    "create_app",
    "make_backend",
    "run_server",
]
