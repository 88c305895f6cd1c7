"""The Batch API (``?queueRequest=true``): request bodies and answers. Pure, no I/O.

Submitting returns a ``request_id``; polling the same model URL with ``{"request_id"}`` answers
``queued``/``running`` until ``{"responses": [...]}`` arrives, in any order: ``id`` is each
response's index in the submission, so we put them back in order and check none is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ._parse import parse_usage, preview
from .errors import BadRequestError, InvalidRequestError, UnexpectedResponseError, WorkersAIError
from .types import BatchItem, BatchStatus

QUEUE_PARAMS = {"queueRequest": "true"}
# Cloudflare: "the total payload must be under 10 MB"; we split jobs with some headroom.
CLOUDFLARE_BATCH_BYTES = 10_000_000
MAX_BATCH_BYTES = CLOUDFLARE_BATCH_BYTES * 9 // 10
FIRST_POLL_DELAY = 0.1  # seconds; doubles up to the caller's poll_interval


def submit_body(requests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if isinstance(requests, (str, bytes, Mapping)) or not isinstance(requests, Sequence):
        raise InvalidRequestError("requests must be a list of the model's inputs (dicts)")
    if not requests:
        raise InvalidRequestError("requests is empty: a batch needs at least one request")
    for position, item in enumerate(requests):
        if not isinstance(item, Mapping):
            raise InvalidRequestError(f"requests[{position}] is not a dict: {item!r:.100}")
        if item.get("stream"):
            raise InvalidRequestError(f"requests[{position}] asks to stream; batches cannot")
    return {"requests": [dict(item) for item in requests]}


def poll_body(request_id: str) -> dict[str, Any]:
    if not isinstance(request_id, str) or not request_id:
        raise InvalidRequestError("request_id is empty: pass the id submit_batch returned")
    return {"request_id": request_id}


def split_jobs(requests: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Group requests into jobs whose JSON stays under :data:`MAX_BATCH_BYTES`."""
    jobs: list[list[Mapping[str, Any]]] = [[]]
    size = 0
    for item in requests:
        item_size = len(json.dumps(item, ensure_ascii=False).encode()) + 1
        if jobs[-1] and size + item_size > MAX_BATCH_BYTES:
            jobs.append([])
            size = 0
        jobs[-1].append(item)
        size += item_size
    return jobs


def poll_delays(poll_interval: float) -> Iterator[float]:
    """Seconds to wait before each poll: quick at first, then every ``poll_interval``."""
    if poll_interval <= 0:
        raise InvalidRequestError("poll_interval must be > 0 seconds")
    delay = min(FIRST_POLL_DELAY, poll_interval)
    while True:
        yield delay
        delay = min(delay * 2, poll_interval)


def parse_status(result: Any, model: str, request_id: str | None = None) -> BatchStatus:
    """A submit or poll answer's ``result`` as a :class:`BatchStatus`."""
    if not isinstance(result, Mapping):
        raise UnexpectedResponseError(f"The batch answer is not an object: {preview(result)}")
    rid = result.get("request_id") or request_id
    if not isinstance(rid, str) or not rid:
        raise UnexpectedResponseError(f"The batch answer has no request_id: {preview(result)}")
    responses = result.get("responses")
    if responses is None:
        state = result.get("status")
        if state not in ("queued", "running"):
            raise UnexpectedResponseError(f"Unknown batch status {state!r} for {rid}")
        return BatchStatus(request_id=rid, model=model, status=state)
    if not isinstance(responses, list):
        raise UnexpectedResponseError(f"Batch responses is not a list: {preview(responses)}")
    items = sorted((_item(r) for r in responses), key=lambda item: item.index)
    return BatchStatus(
        request_id=rid,
        model=model,
        status="done",
        items=items,
        usage=parse_usage(result.get("usage")),
    )


def _item(raw: Any) -> BatchItem:
    if not isinstance(raw, Mapping) or isinstance(raw.get("id"), bool):
        raise UnexpectedResponseError(f"A batch response has no id: {preview(raw)}")
    index = raw.get("id")
    if not isinstance(index, int):
        raise UnexpectedResponseError(f"A batch response has no id: {preview(raw)}")
    success = raw.get("success") is not False
    result = raw.get("result")
    reference = raw.get("external_reference")
    return BatchItem(
        index=index,
        success=success,
        result=result if success else None,
        external_reference=reference if isinstance(reference, str) else None,
        error=None if success else _failure_text(raw),
    )


def _failure_text(raw: Mapping[str, Any]) -> str:
    for holder in (raw.get("result"), raw):
        errors = holder.get("errors") if isinstance(holder, Mapping) else None
        if isinstance(errors, list) and errors:
            return "; ".join(
                f"{e.get('code')}: {e.get('message')}" if isinstance(e, Mapping) else str(e)
                for e in errors
            )
        if isinstance(holder, Mapping) and isinstance(holder.get("error"), str):
            return str(holder["error"])
    return "failed (Cloudflare gave no reason)"


def check_complete(status: BatchStatus, submitted: int) -> list[BatchItem]:
    """The items of a finished batch, one per submitted request, in submission order."""
    items = status.items or []
    if [item.index for item in items] != list(range(submitted)):
        raise UnexpectedResponseError(
            f"Batch {status.request_id} answered for requests "
            f"{[item.index for item in items]!r:.200}, expected 0..{submitted - 1}"
        )
    return items


def item_error(model: str, item: BatchItem) -> WorkersAIError:
    return BadRequestError(
        f"Request {item.index} of the {model} batch failed: {item.error}", status=None
    )


def batch_timeout_message(model: str, request_id: str, timeout: float) -> str:
    return (
        f"The {model} batch {request_id} did not finish within {timeout:g} s; it keeps running "
        f"on Cloudflare: get_batch({model!r}, {request_id!r}) fetches it later."
    )
