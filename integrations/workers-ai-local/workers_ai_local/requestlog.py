"""A bounded log of the requests the server received, so tests can assert what a client sent.

Secrets never enter the log: credential headers are replaced by ``"<redacted>"`` and only
whether the bearer token matched is kept.

Besides the request itself, an entry records what became of it: ``status``, the ``fault``
applied (None if none) and, on gateway routes, ``cache`` (``"HIT"``: answered from the gateway
cache without reaching the backend, or ``"MISS"``; None off the gateway).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"authorization", "cf-aig-authorization", "x-auth-key"})
DEFAULT_CAPACITY = 1000


def decode_body(raw: bytes) -> Any:
    """The body as JSON when it parses, else as text; None when empty."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased header names (repeated headers joined by ", ") with secrets replaced."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        value = REDACTED if key in SECRET_HEADERS else value
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


class RequestLog:
    """Thread-safe; entries are dicts updated in place with the status once it is known."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0

    def record(
        self,
        *,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Iterable[tuple[str, str]],
        body: bytes,
        auth_ok: bool,
        gateway_id: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry: dict[str, Any] = {
                "seq": self._seq,
                "time": time.time(),
                "method": method,
                "path": path,
                "query": dict(query),
                "headers": redact_headers(headers),
                "auth_ok": auth_ok,
                "gateway_id": gateway_id,
                "body": decode_body(body),
                "fault": None,
                "cache": None,
                "status": None,
            }
            self._entries.append(entry)
            return entry

    def update(self, entry: dict[str, Any], **changes: Any) -> None:
        with self._lock:
            entry.update(changes)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._entries))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
