"""Fault injection: queued misbehaviours that the next matching requests suffer.

Faults are queued first-in first-out; each request consumes at most one (the first whose scope
matches) and a fault is dropped once it has been applied ``count`` times. See :data:`FIELDS`
for the kinds and the extra fields each accepts.

Every kind also takes the :data:`COMMON_FIELDS`:

- ``count``: how many requests the fault applies to; ``0`` or ``None`` means until cleared.
- ``scope``: ``"data"`` (model routes, the default), ``"models"`` (model search) or ``"all"``.
- ``probability``: ``0 < p <= 1``. Each matching request then suffers the fault with that
  chance; a request the draw spares moves on to the next pending fault. ``count`` defaults to
  until-cleared here, so ``{"kind": "server_error", "probability": 0.05}`` fails ~5% of a soak.
- ``seed``: an integer seed for that fault's own random generator (only with ``probability``),
  so the sequence of hits and misses is reproducible.

The ``reset`` kind answers nothing: the server resets the TCP connection (see
:class:`ConnectionReset`), which a client sees as a connection error.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from workers_ai_local.wire import error_envelope

FaultKind = Literal[
    "rate_limit",
    "quota",
    "server_error",
    "error",
    "string_code",
    "latency",
    "stall_stream",
    "cut_stream",
    "malformed_event",
    "html_error",
    "empty_body",
    "json_for_stream",
    "reset",
]
Scope = Literal["data", "models", "all"]
KINDS: tuple[str, ...] = get_args(FaultKind)
SCOPES: tuple[str, ...] = get_args(Scope)

RATE_LIMIT_MESSAGE = "Capacity temporarily exceeded, please try again."
QUOTA_MESSAGE = (
    "You have used up your daily free allocation of 10,000 neurons. Please upgrade to "
    "Cloudflare's Workers Paid plan if you would like to continue usage."
)
INTERNAL_ERROR_MESSAGE = "Internal server error"

COMMON_FIELDS = ("count", "scope", "probability", "seed")
# Kind-specific fields (besides the COMMON_FIELDS, which every kind takes).
FIELDS: dict[str, tuple[str, ...]] = {
    "rate_limit": ("retry_after",),
    "quota": ("retry_after",),
    "server_error": ("status",),
    "error": ("status", "code", "message", "retry_after"),
    "string_code": ("status",),
    "latency": ("delay",),
    "stall_stream": ("after", "delay"),
    "cut_stream": ("after", "abrupt"),
    "malformed_event": ("at",),
    "html_error": ("status",),
    "empty_body": ("status",),
    "json_for_stream": (),
    "reset": (),  # no answer at all: a TCP reset
}


class FaultError(ValueError):
    """An invalid fault specification."""


class StreamAborted(Exception):
    """Raised inside a response body to make the server drop the connection mid-response."""


class ConnectionReset(Exception):
    """Raised before any response starts to make the server reset the connection unanswered."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    count: int | None = 1  # None: until cleared
    scope: Scope = "data"
    status: int | None = None
    code: int | str | None = None
    message: str | None = None
    retry_after: float | None = None
    delay: float = 1.0
    after: int = 2
    abrupt: bool = False
    at: int = 1
    probability: float | None = None
    seed: int | None = None

    def describe(self) -> dict[str, Any]:
        """The fault as JSON, listing only the fields its kind uses (and chance, when set)."""
        chance = ("probability", "seed") if self.probability is not None else ()
        names = ("kind", "count", "scope", *chance, *FIELDS[self.kind])
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in names}

    def applies_to(self, route: Scope) -> bool:
        return self.scope in ("all", route)


def parse_fault(spec: Mapping[str, Any]) -> Fault:
    """Validate a fault spec such as ``{"kind": "rate_limit", "count": 2, "retry_after": 1}``."""
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultError(f"unknown fault kind {kind!r}; known kinds: {', '.join(KINDS)}")
    allowed = {"kind", *COMMON_FIELDS, *FIELDS[kind]}
    extra = sorted(set(spec) - allowed)
    if extra:
        raise FaultError(f"fault {kind!r} does not take {', '.join(extra)}")
    values: dict[str, Any] = {"kind": kind}
    for name, value in spec.items():
        if name != "kind":
            values[name] = _check(kind, name, value)
    if kind == "error" and not {"status", "code", "message"} <= set(values):
        raise FaultError("fault 'error' needs status, code and message")
    chance = values.get("probability")
    if "seed" in values and chance is None:
        raise FaultError("'seed' only applies to a fault with a 'probability'")
    # A chance fault is meant for soak runs, so by default it lasts until cleared.
    count = values.get("count", None if chance is not None else 1)
    values["count"] = count or None  # 0 also means until cleared
    return Fault(**values)


def _check(kind: str, name: str, value: Any) -> Any:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    is_num = is_int or isinstance(value, float)
    if name == "count":
        ok = value is None or (is_int and value >= 0)
    elif name in ("after", "at", "seed"):
        ok = is_int and value >= 0
    elif name == "probability":
        ok = is_num and 0 < value <= 1
    elif name in ("delay", "retry_after"):
        ok = is_num and value >= 0
    elif name == "status":
        low = 500 if kind == "server_error" else 400
        ok = is_int and low <= value <= 599
    elif name == "code":
        ok = is_int or isinstance(value, str)
    elif name == "message":
        ok = isinstance(value, str)
    elif name == "abrupt":
        ok = isinstance(value, bool)
    else:  # scope
        ok = value in SCOPES
    if not ok:
        raise FaultError(f"invalid value {value!r} for {name!r} of fault {kind!r}")
    return value


@dataclass
class _Pending:
    fault: Fault
    remaining: int | None  # None: until cleared
    rng: random.Random | None  # set for a fault with a probability

    def hits(self) -> bool:
        """Whether this request suffers the fault (always, unless it has a probability)."""
        chance = self.fault.probability
        return chance is None or self.rng is None or self.rng.random() < chance


@dataclass
class FaultBook:
    """The thread-safe queue of pending faults (test helpers call it from other threads)."""

    _pending: list[_Pending] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> None:
        rng = random.Random(fault.seed) if fault.probability is not None else None
        with self._lock:
            self._pending.append(_Pending(fault, fault.count, rng))

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def take(self, route: Scope) -> Fault | None:
        """Consume one application of the first pending fault that covers ``route``."""
        with self._lock:
            for entry in self._pending:
                if entry.fault.applies_to(route) and entry.hits():
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining == 0:
                            self._pending.remove(entry)
                    return entry.fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**e.fault.describe(), "remaining": e.remaining} for e in self._pending]


@dataclass(frozen=True)
class FaultReply:
    """A complete HTTP answer that replaces the real one."""

    status: int
    body: bytes
    media_type: str | None
    headers: dict[str, str]


_HTML_PAGE = """<!DOCTYPE html>
<html><head><title>{status} Bad Gateway | api.cloudflare.com | Cloudflare</title></head>
<body><div id="cf-error-details"><h1>Error {status}</h1>
<p>Bad gateway. The web server reported a bad gateway error.</p>
<p>Cloudflare Ray ID: local</p></div></body></html>
"""


def error_reply(fault: Fault) -> FaultReply | None:
    """The replacement answer for faults that replace the whole response, else None."""
    kind = fault.kind
    if kind == "rate_limit":
        return _envelope_reply(429, 3040, RATE_LIMIT_MESSAGE, fault.retry_after)
    if kind == "quota":
        return _envelope_reply(429, 3036, QUOTA_MESSAGE, fault.retry_after)
    if kind == "server_error":
        return _envelope_reply(fault.status or 500, 3001, INTERNAL_ERROR_MESSAGE, None)
    if kind == "string_code":
        return _envelope_reply(fault.status or 429, "3040", RATE_LIMIT_MESSAGE, None)
    if kind == "error":
        assert fault.status is not None and fault.code is not None and fault.message is not None
        return _envelope_reply(fault.status, fault.code, fault.message, fault.retry_after)
    if kind == "html_error":
        status = fault.status or 502
        return FaultReply(status, _HTML_PAGE.format(status=status).encode(), "text/html", {})
    if kind == "empty_body":
        return FaultReply(fault.status or 502, b"", None, {})
    return None


def _envelope_reply(
    status: int, code: int | str, message: str, retry_after: float | None
) -> FaultReply:
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    body = json.dumps(error_envelope(code, message)).encode()
    return FaultReply(status, body, "application/json", headers)


def apply_to_frames(fault: Fault | None, frames: Iterator[bytes]) -> Iterator[bytes]:
    """Stream faults, applied to whole SSE frames (0 = the first event) before they are re-cut
    into writes. Runs in a worker thread, so ``stall_stream`` may block it with ``time.sleep``.
    """
    if fault is None:
        yield from frames
        return
    for i, frame in enumerate(frames):
        if fault.kind == "cut_stream" and i >= fault.after:
            if fault.abrupt:
                raise StreamAborted
            return
        if fault.kind == "stall_stream" and i == fault.after:
            time.sleep(fault.delay)
        yield malformed(frame) if fault.kind == "malformed_event" and i == fault.at else frame


def malformed(frame: bytes) -> bytes:
    """The same ``data:`` line with its JSON cut in half, so it no longer parses."""
    payload = frame.decode().removeprefix("data: ").rstrip("\n")
    return ("data: " + payload[: max(1, len(payload) // 2)] + "\n\n").encode()
