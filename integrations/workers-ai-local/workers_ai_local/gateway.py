"""The AI Gateway in front of the local server (wire contract §1.1, §1.2): which gateway ids
exist, gateway authentication, the ``cf-aig-*`` request headers and the answer cache.

Gateway refusals use the gateway's own envelope, whose ``error`` is a list (the API's is
``errors``): ``{"success": false, "result": [], "messages": [], "error": [{code, message}]}``.

- 401, code 2009 ``Unauthorized``: the gateway has a token and ``cf-aig-authorization:
  Bearer <token>`` is missing or wrong (Cloudflare's code).
- 400, code 2001 ``Please configure AI Gateway in the Cloudflare dashboard``: an unknown
  gateway id (Cloudflare's code).
- 400, code :data:`BAD_HEADER_CODE` (ours; the real code is unverified): a malformed
  ``cf-aig-metadata`` (a JSON object of at most 5 string, number or boolean values) or
  ``cf-aig-cache-ttl`` (whole seconds, 1 to a month).

Caching: ``cf-aig-cache-ttl: <seconds>`` caches a successful non-streaming answer keyed by the
request path and body, or by ``cf-aig-cache-key`` when given; ``cf-aig-skip-cache: true``
neither reads nor fills the cache. Every gateway answer carries ``cf-aig-cache-status`` (HIT or
MISS) and a fresh ``cf-aig-log-id``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workers_ai._gateway import (
    AUTH_HEADER,
    CACHE_KEY_HEADER,
    CACHE_TTL_HEADER,
    MAX_METADATA_ENTRIES,
    METADATA_HEADER,
    SKIP_CACHE_HEADER,
)
from workers_ai.errors import GATEWAY_NOT_FOUND_CODE, GATEWAY_UNAUTHORIZED_CODE

CACHE_STATUS_HEADER = "cf-aig-cache-status"
LOG_ID_HEADER = "cf-aig-log-id"

BAD_HEADER_CODE = 2017  # ours: Cloudflare's code for a malformed cf-aig-* header is unverified
MAX_CACHE_TTL = 31 * 24 * 3600  # Cloudflare's limit is "1 month"
DEFAULT_CACHE_CAPACITY = 1000


class GatewayError(Exception):
    """A refusal by the gateway itself, rendered with :func:`gateway_envelope`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def gateway_envelope(code: int, message: str) -> dict[str, Any]:
    return {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": code, "message": message}],
    }


def _bad_header(name: str, detail: str) -> GatewayError:
    return GatewayError(400, BAD_HEADER_CODE, f"Invalid {name} header: {detail}")


def parse_metadata(raw: str) -> dict[str, str | int | float | bool]:
    """``cf-aig-metadata``: a flat JSON object of at most five scalar entries."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise _bad_header(METADATA_HEADER, "not valid JSON") from None
    if not isinstance(data, dict):
        raise _bad_header(METADATA_HEADER, "must be a JSON object")
    if len(data) > MAX_METADATA_ENTRIES:
        raise _bad_header(METADATA_HEADER, f"at most {MAX_METADATA_ENTRIES} entries")
    for key, value in data.items():
        if value is None or not isinstance(value, str | int | float | bool):
            raise _bad_header(METADATA_HEADER, f"{key!r} must be a string, number or boolean")
    return data


def _cache_ttl(raw: str) -> int:
    try:
        ttl = int(raw)
    except ValueError:
        ttl = 0
    if not 1 <= ttl <= MAX_CACHE_TTL:
        raise _bad_header(CACHE_TTL_HEADER, f"whole seconds from 1 to {MAX_CACHE_TTL}")
    return ttl


@dataclass(frozen=True)
class CachePolicy:
    """Where a request's answer lives in the cache and for how long."""

    key: tuple[str, ...]
    ttl: int


def cache_policy(
    headers: Mapping[str, str], *, gateway_id: str, path: str, body: bytes
) -> CachePolicy | None:
    """The request's cache policy, or None when it neither reads nor fills the cache."""
    raw_ttl = headers.get(CACHE_TTL_HEADER)
    if raw_ttl is None or headers.get(SKIP_CACHE_HEADER, "").lower() == "true":
        return None
    custom = headers.get(CACHE_KEY_HEADER)
    if custom is not None:
        key: tuple[str, ...] = (gateway_id, "key", custom)
    else:
        key = (gateway_id, "request", path, hashlib.sha256(body).hexdigest())
    return CachePolicy(key, _cache_ttl(raw_ttl))


@dataclass(frozen=True)
class CachedAnswer:
    status: int
    body: bytes
    media_type: str | None


@dataclass(frozen=True)
class GatewaySettings:
    token: str | None = None  # None: an unauthenticated gateway
    ids: frozenset[str] | None = None  # None: every gateway id exists

    def describe(self) -> dict[str, Any]:
        # The token itself is a secret; say only whether one is set.
        ids = None if self.ids is None else sorted(self.ids)
        return {"authenticated": self.token is not None, "ids": ids}


def parse_settings(spec: Mapping[str, Any]) -> GatewaySettings:
    """A control-route body ``{"token": str | null, "ids": [str] | null}``."""
    extra = sorted(set(spec) - {"token", "ids"})
    if extra:
        raise ValueError(f"gateway settings do not take {', '.join(extra)}")
    token, ids = spec.get("token"), spec.get("ids")
    if token is not None and (not isinstance(token, str) or not token):
        raise ValueError("'token' must be a non-empty string or null")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise ValueError("'ids' must be a list of strings or null")
    return make_settings(token, ids)


def make_settings(token: str | None, ids: Iterable[str] | None) -> GatewaySettings:
    return GatewaySettings(token, None if ids is None else frozenset(ids))


class Gateway:
    """Gateway settings (restorable to the initial ones) and the bounded answer cache.

    Thread-safe: test helpers reconfigure and reset it from other threads.
    """

    def __init__(
        self,
        initial: GatewaySettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = DEFAULT_CACHE_CAPACITY,
    ) -> None:
        self._initial = initial or GatewaySettings()
        self._settings = self._initial
        self._clock = clock
        self._capacity = capacity
        self._cache: OrderedDict[tuple[str, ...], tuple[float, CachedAnswer]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def settings(self) -> GatewaySettings:
        return self._settings

    def configure(self, new: GatewaySettings) -> None:
        self._settings = new

    def reset(self) -> None:
        """Back to the initial settings, with an empty cache."""
        with self._lock:
            self._settings = self._initial
            self._cache.clear()

    def admit(
        self, gateway_id: str, headers: Mapping[str, str], *, path: str, body: bytes
    ) -> CachePolicy | None:
        """Refuse (:class:`GatewayError`) what the gateway would; else the cache policy."""
        current = self._settings
        if current.ids is not None and gateway_id not in current.ids:
            raise GatewayError(
                400,
                GATEWAY_NOT_FOUND_CODE,
                "Please configure AI Gateway in the Cloudflare dashboard",
            )
        if current.token is not None:
            given = headers.get(AUTH_HEADER, "").encode()
            if not secrets.compare_digest(given, f"Bearer {current.token}".encode()):
                raise GatewayError(401, GATEWAY_UNAUTHORIZED_CODE, "Unauthorized")
        raw_metadata = headers.get(METADATA_HEADER)
        if raw_metadata is not None:
            parse_metadata(raw_metadata)
        return cache_policy(headers, gateway_id=gateway_id, path=path, body=body)

    def lookup(self, policy: CachePolicy | None) -> CachedAnswer | None:
        if policy is None:
            return None
        with self._lock:
            hit = self._cache.get(policy.key)
            if hit is None:
                return None
            expires, answer = hit
            if self._clock() >= expires:
                del self._cache[policy.key]
                return None
            return answer

    def store(self, policy: CachePolicy | None, answer: CachedAnswer | None) -> None:
        if policy is None or answer is None:
            return
        with self._lock:
            self._cache[policy.key] = (self._clock() + policy.ttl, answer)
            self._cache.move_to_end(policy.key)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
