"""AI Gateway options: the ``cf-aig-*`` headers, set on a client and overridden per call.

The headers and their meaning follow Cloudflare's own REST client (``cloudflare/ai``
``createRun``) and the gateway docs: an authenticated gateway wants its own token in
``cf-aig-authorization`` besides the Workers AI token in ``Authorization``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from pydantic import SecretStr

from .errors import ConfigurationError

MetadataValue = str | int | float | bool
MAX_METADATA_ENTRIES = 5  # the gateway keeps at most five custom metadata entries

# The request headers, as Cloudflare's own REST client sends them.
AUTH_HEADER = "cf-aig-authorization"
CACHE_TTL_HEADER = "cf-aig-cache-ttl"
SKIP_CACHE_HEADER = "cf-aig-skip-cache"
CACHE_KEY_HEADER = "cf-aig-cache-key"
METADATA_HEADER = "cf-aig-metadata"


@dataclass(frozen=True)
class GatewayOptions:
    """What to tell the AI Gateway about a request. ``None`` means "not set here".

    - ``token``: the gateway's own token, for an authenticated gateway (cf-aig-authorization)
    - ``cache_ttl``: cache the answer for this many seconds (cf-aig-cache-ttl)
    - ``skip_cache``: neither read nor write the cache for this request (cf-aig-skip-cache)
    - ``cache_key``: cache under this key instead of one derived from the request
    - ``metadata``: up to five str/number/bool values logged with the request (cf-aig-metadata)
    """

    token: SecretStr | str | None = field(default=None, repr=False)
    cache_ttl: int | None = None
    skip_cache: bool | None = None
    cache_key: str | None = None
    metadata: Mapping[str, MetadataValue] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.token, str):
            object.__setattr__(self, "token", SecretStr(self.token) if self.token else None)
        if self.cache_ttl is not None and (
            isinstance(self.cache_ttl, bool) or not isinstance(self.cache_ttl, int)
        ):
            raise ConfigurationError(
                f"gateway cache_ttl must be whole seconds, got {self.cache_ttl!r}"
            )
        if self.cache_ttl is not None and self.cache_ttl < 0:
            raise ConfigurationError("gateway cache_ttl must be >= 0 seconds")
        if self.metadata is not None:
            _check_metadata(self.metadata)

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def merged(self, override: GatewayOptions | None) -> GatewayOptions:
        """These options with every field ``override`` sets replaced (a per-call override)."""
        if override is None:
            return self
        changes = {
            f.name: getattr(override, f.name)
            for f in fields(override)
            if getattr(override, f.name) is not None
        }
        return replace(self, **changes) if changes else self

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        token = self.token
        if token is not None:
            secret = token.get_secret_value() if isinstance(token, SecretStr) else token
            out[AUTH_HEADER] = f"Bearer {secret}"
        if self.cache_ttl is not None:
            out[CACHE_TTL_HEADER] = str(self.cache_ttl)
        if self.skip_cache is not None:
            out[SKIP_CACHE_HEADER] = "true" if self.skip_cache else "false"
        if self.cache_key is not None:
            out[CACHE_KEY_HEADER] = self.cache_key
        if self.metadata is not None:
            out[METADATA_HEADER] = json.dumps(dict(self.metadata), separators=(",", ":"))
        return out


def require_gateway(options: GatewayOptions | None, gateway_id: str | None, names: str) -> None:
    """Gateway options are headers for a gateway: without one they would silently do nothing."""
    if options is not None and not options.is_empty() and not gateway_id:
        raise ConfigurationError(
            f"AI Gateway options ({names}) need a gateway: pass gateway_id=... or set "
            "WORKERS_AI_GATEWAY_ID."
        )


def gateway_options(value: GatewayOptions | Mapping[str, object] | None) -> GatewayOptions | None:
    """Per-call options given as GatewayOptions or a plain dict of its fields."""
    if value is None or isinstance(value, GatewayOptions):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"gateway must be GatewayOptions or a dict, got {value!r:.100}")
    known = {f.name for f in fields(GatewayOptions)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigurationError(
            f"Unknown gateway option(s) {', '.join(unknown)}; use {', '.join(sorted(known))}"
        )
    return GatewayOptions(**value)  # type: ignore[arg-type]


def _check_metadata(metadata: Mapping[str, MetadataValue]) -> None:
    if not isinstance(metadata, Mapping):
        raise ConfigurationError("gateway metadata must be a dict")
    if len(metadata) > MAX_METADATA_ENTRIES:
        raise ConfigurationError(
            f"gateway metadata takes at most {MAX_METADATA_ENTRIES} entries, got {len(metadata)}"
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float, bool)):
            raise ConfigurationError(
                f"gateway metadata entries must map str to str, number or bool: {key!r}: {value!r}"
            )


__all__ = ["GatewayOptions", "gateway_options", "require_gateway"]
