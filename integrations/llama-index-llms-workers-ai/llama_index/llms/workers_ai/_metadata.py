"""What a chat model can do: the packaged model catalog first, then the account's catalog."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workers_ai import ModelInfo, WorkersAIError, model_spec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capabilities:
    context_window: int | None = None
    function_calling: bool = False


def known_capabilities(model: str) -> Capabilities | None:
    """From the packaged catalog (no I/O), or None for a model it does not list."""
    spec = model_spec(model)
    if spec is None:
        return None
    return Capabilities(spec.context_window, spec.function_calling)


def catalog_capabilities(model: str, catalog: Sequence[ModelInfo]) -> Capabilities | None:
    for info in catalog:
        if info.name == model:
            return Capabilities(info.context_window, info.function_calling)
    return None


def lookup_capabilities(
    model: str, search_catalog: Callable[[str], list[ModelInfo]]
) -> Capabilities:
    """The table, else one catalog search; a failed search means "nothing known" (logged)."""
    known = known_capabilities(model)
    if known is not None:
        return known
    try:
        found = catalog_capabilities(model, search_catalog(model))
    except WorkersAIError as exc:
        logger.warning(
            "Could not read %s's context window and tool support from the Workers AI catalog "
            "(%s); using LlamaIndex's defaults. Pass context_window= and "
            "is_function_calling_model= to set them.",
            model,
            exc,
        )
        return Capabilities()
    if found is None:
        logger.warning("%s is not in the Workers AI catalog; using LlamaIndex's defaults.", model)
        return Capabilities()
    return found
