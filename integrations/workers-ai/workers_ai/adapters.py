"""The supported surface for framework adapters (LangChain, LlamaIndex, your own).

An adapter translates its framework's types to the core's and back; everything else it needs
from the core comes from two places, and only these two (``tests/unit/test_adapter_imports.py``
fails when an adapter reaches into a private module):

- ``workers_ai``: the names users see too (clients, ``ChatOptions``, results, errors,
  ``json_response_format``, ``estimate_text_tokens``, ``estimate_prompt_tokens``, ...);
- ``workers_ai.adapters`` (this module): what adapter classes share and users rarely need.

What is here:

- connection: ``ConnectionFields``, the pydantic mixin every adapter class inherits
  (credentials and endpoint from the arguments, then the environment; ``http_client=`` and
  ``async_http_client=`` injection; ``sync_client()``/``async_client()``/``close()``/``aclose()``),
  and ``LazyClients``, the clients behind it (one sync pool, one async pool per event loop),
  built from a ``ClientSettings`` snapshot of the fields; ``refuse_unknown_arguments`` (a
  ``TypeError`` naming a misspelt keyword and the closest field, for frameworks that would
  drop it silently);
- options: ``SAMPLING_OPTIONS``, ``REASONING_OPTIONS`` and ``FIELD_OPTIONS`` (the ``ChatOptions``
  an adapter class carries as fields of the same name: sent unless None, a call's keyword
  argument wins); per-call routing: ``Routing`` and ``pop_routing`` (a call's
  ``fallback_models=`` and ``gateway=``, kept apart from what the request asks);
- wire rules: ``normalize_tool_choice`` (every framework's ``tool_choice`` forms to the
  wire's); ``result_shape`` (the ``ResultShape`` a model answers in: legacy, scout, openai,
  responses); ``sends_stream`` (whether a stream request really streams: in JSON mode it does
  not, and the whole answer comes as one chunk; the core applies it to every stream);
- embedding: ``embedding_batch_limit``, ``DEFAULT_EMBEDDING_BATCH_LIMIT``,
  ``DEFAULT_EMBED_CONCURRENCY``, and ``map_in_threads`` (a few sync calls side by side);
- streaming: ``chunk_from_result`` (a whole answer as the one last chunk of a stream).

Importing this module does not import httpx; the clients load on first use.
"""

from ._catalog import (
    DEFAULT_EMBEDDING_BATCH_LIMIT,
    ResultShape,
    embedding_batch_limit,
    result_shape,
)
from ._chat_options import normalize_tool_choice
from ._clients import ClientSettings, ConnectionFields, LazyClients, refuse_unknown_arguments
from ._config import DEFAULT_EMBED_CONCURRENCY
from ._request import (
    FIELD_OPTIONS,
    REASONING_OPTIONS,
    SAMPLING_OPTIONS,
    Routing,
    pop_routing,
    sends_stream,
)
from ._threads import map_in_threads
from .streaming import chunk_from_result

__all__ = [
    "DEFAULT_EMBEDDING_BATCH_LIMIT",
    "DEFAULT_EMBED_CONCURRENCY",
    "FIELD_OPTIONS",
    "REASONING_OPTIONS",
    "SAMPLING_OPTIONS",
    "ClientSettings",
    "ConnectionFields",
    "LazyClients",
    "ResultShape",
    "Routing",
    "chunk_from_result",
    "embedding_batch_limit",
    "map_in_threads",
    "normalize_tool_choice",
    "pop_routing",
    "refuse_unknown_arguments",
    "result_shape",
    "sends_stream",
]
