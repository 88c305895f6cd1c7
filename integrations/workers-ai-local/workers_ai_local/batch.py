"""Cloudflare's async batch API (wire contract §6), with jobs kept in memory.

- Submit: ``POST .../ai/run/{model}?queueRequest=true`` with ``{"requests": [{...model input...,
  "external_reference"?: str}, ...]}`` answers ``{"status": "queued", "request_id", "model"}``.
- Poll: ``POST .../ai/run/{model}`` (``?queueRequest=true`` optional) with ``{"request_id"}``.
  The first of a job's ``pending_polls`` polls answers ``{"status": "queued", "request_id"}``,
  the rest ``"running"``; after them every poll answers ``{"responses": [...], "usage": {...}}``.
  Each response is ``{"id": <index in requests>, "result", "success", "external_reference"}``;
  a failed item's result is ``{"errors": [{"code", "message"}]}``. Responses are listed in
  reverse order, because Cloudflare promises no order and clients must sort by ``id``.

An invalid item (including one asking to stream) fails alone; the submission still succeeds.
Errors: a payload over :data:`MAX_PAYLOAD_BYTES` is 413 code 3006 (Cloudflare's); an unknown
``request_id`` is 404 code :data:`UNKNOWN_REQUEST_CODE` (ours: Cloudflare's is undocumented).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workers_ai._batch import CLOUDFLARE_BATCH_BYTES
from workers_ai_local.errors import ApiError, bad_input
from workers_ai_local.validate import json_type

MAX_PAYLOAD_BYTES = CLOUDFLARE_BATCH_BYTES
DEFAULT_PENDING_POLLS = 2  # one "queued", one "running", then done
DEFAULT_CAPACITY = 1000  # jobs kept; the oldest go first
UNKNOWN_REQUEST_CODE = 1004  # ours, see the module docstring
NOT_QUEUEABLE_MESSAGE = "AiError: Bad input: Error: this model's output cannot be queued"


def request_too_large() -> ApiError:
    return ApiError(413, 3006, "Request too large")


def unknown_request(request_id: str) -> ApiError:
    return ApiError(404, UNKNOWN_REQUEST_CODE, f"No queued request with id {request_id}")


def is_queued(query: Mapping[str, str]) -> bool:
    return query.get("queueRequest", "").lower() == "true"


def is_poll(body: Mapping[str, Any]) -> bool:
    return "request_id" in body and "requests" not in body


def poll_id(body: Mapping[str, Any]) -> str:
    request_id = body["request_id"]
    if not isinstance(request_id, str):
        raise bad_input(
            f"Type mismatch of '/request_id', '{json_type(request_id)}' not in 'string'"
        )
    return request_id


def batch_items(body: Mapping[str, Any]) -> list[Any]:
    """The ``requests`` array of a submission, which must hold at least one item."""
    if "requests" not in body:
        raise bad_input("required properties at '/' are 'requests'")
    items = body["requests"]
    if not isinstance(items, list):
        raise bad_input(f"Type mismatch of '/requests', '{json_type(items)}' not in 'array'")
    if not items:
        raise bad_input("Array at '/requests' is empty")
    return items


def external_reference(item: Any) -> str | None:
    """The item's reference, echoed back only when it is a string."""
    ref = item.get("external_reference") if isinstance(item, dict) else None
    return ref if isinstance(ref, str) else None


def model_input(item: Any, index: int) -> dict[str, Any]:
    """The item without its reference: the body the native run route would get."""
    path = f"/requests/{index}"
    if not isinstance(item, dict):
        raise bad_input(f"Type mismatch of '{path}', '{json_type(item)}' not in 'object'")
    ref = item.get("external_reference")
    if ref is not None and not isinstance(ref, str):
        raise bad_input(
            f"Type mismatch of '{path}/external_reference', '{json_type(ref)}' not in 'string'"
        )
    if item.get("stream") is True:
        raise bad_input(f"'{path}/stream' is not supported in a queued request")
    return {k: v for k, v in item.items() if k != "external_reference"}


def item_usage(data: Mapping[str, Any], result: Any) -> tuple[int, int]:
    """(prompt, completion) tokens of one item: the result's usage, else for embeddings the
    same word-count approximation the OpenAI embeddings route reports."""
    usage = result.get("usage") if isinstance(result, dict) else None
    if isinstance(usage, dict):
        return int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    text = data.get("text", ())
    texts = [text] if isinstance(text, str) else text
    return sum(len(t.split()) for t in texts if isinstance(t, str)), 0


@dataclass(frozen=True)
class ItemOutcome:
    """One entry of ``responses`` and the tokens it counts toward the job's usage."""

    response: dict[str, Any]
    prompt_tokens: int = 0
    completion_tokens: int = 0


def succeeded(index: int, ref: str | None, result: Any, usage: tuple[int, int]) -> ItemOutcome:
    response = {"id": index, "result": result, "success": True, "external_reference": ref}
    return ItemOutcome(response, *usage)


def failed(index: int, ref: str | None, code: int | str, message: str) -> ItemOutcome:
    result = {"errors": [{"code": code, "message": message}]}
    return ItemOutcome({"id": index, "result": result, "success": False, "external_reference": ref})


def done_result(outcomes: Sequence[ItemOutcome]) -> dict[str, Any]:
    prompt = sum(o.prompt_tokens for o in outcomes)
    completion = sum(o.completion_tokens for o in outcomes)
    return {
        "responses": [o.response for o in reversed(outcomes)],  # deliberately out of order
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


@dataclass
class _Job:
    request_id: str
    outcomes: tuple[ItemOutcome, ...]
    pending_polls: int  # fixed at submission, so reconfiguring never changes a running job
    polls: int = 0


class BatchBook:
    """The jobs (bounded, oldest dropped first) and how many polls each stays pending.

    Thread-safe: test helpers reconfigure and reset it from other threads.
    """

    def __init__(
        self, pending_polls: int = DEFAULT_PENDING_POLLS, capacity: int = DEFAULT_CAPACITY
    ) -> None:
        self._initial = check_pending_polls(pending_polls)
        self.pending_polls = self._initial
        self._capacity = capacity
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()

    def configure(self, pending_polls: int) -> None:
        self.pending_polls = check_pending_polls(pending_polls)

    def reset(self) -> None:
        """Forget every job and restore the initial pending polls."""
        with self._lock:
            self._jobs.clear()
            self.pending_polls = self._initial

    def submit(self, model: str, outcomes: Sequence[ItemOutcome]) -> dict[str, Any]:
        """Store a finished job; the answer to its submission."""
        job = _Job(str(uuid.uuid4()), tuple(outcomes), self.pending_polls)
        with self._lock:
            self._jobs[job.request_id] = job
            while len(self._jobs) > self._capacity:
                self._jobs.popitem(last=False)
        return {"status": "queued", "request_id": job.request_id, "model": model}

    def poll(self, request_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(request_id)
            if job is None:
                raise unknown_request(request_id)
            job.polls += 1
            polls = job.polls
        if polls <= job.pending_polls:
            return {"status": "queued" if polls == 1 else "running", "request_id": request_id}
        return done_result(job.outcomes)


def check_pending_polls(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"pending_polls must be an integer >= 0, not {value!r}")
    return value


def parse_settings(spec: Mapping[str, Any]) -> int:
    """A control-route body ``{"pending_polls": int}``."""
    extra = sorted(set(spec) - {"pending_polls"})
    if extra or "pending_polls" not in spec:
        raise ValueError('batch settings are {"pending_polls": <integer >= 0>}')
    return check_pending_polls(spec["pending_polls"])
