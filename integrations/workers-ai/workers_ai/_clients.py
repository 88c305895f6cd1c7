"""What every framework adapter (LangChain, LlamaIndex) needs to reach the core, defined once.

``ConnectionFields`` is a pydantic mixin with the connection fields (arguments first, then the
environment) that each adapter class inherits, and the ``http_client=`` / ``async_http_client=``
keyword arguments every adapter class takes alike. A model object must be cheap to build (no I/O,
no pool), yet reuse one connection pool for all its calls: ``LazyClients`` makes one
``WorkersAI`` on the first sync call and one ``AsyncWorkersAI`` per event loop on the first
async call, because an ``httpx.AsyncClient``'s connections belong to the loop that opened them
and framework code often calls ``asyncio.run`` more than once on the same object. A client is
rebuilt when the object's connection settings change. Pure pydantic: no framework imports.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from ._config import (
    ACCOUNT_ID_ENV,
    API_TOKEN_ENV,
    BASE_URL_ENV,
    GATEWAY_ID_ENV,
    first_env,
    resolved_base_url,
    resolved_gateway_url,
)
from ._gateway import GatewayOptions, MetadataValue, require_gateway
from ._ratelimit import RateLimiter

if TYPE_CHECKING:
    import httpx

    from .client import AsyncWorkersAI, WorkersAI


def account_id_from_env() -> str | None:
    return first_env(ACCOUNT_ID_ENV, os.environ)


def api_token_from_env() -> SecretStr | None:
    value = first_env(API_TOKEN_ENV, os.environ)
    return SecretStr(value) if value else None


def base_url_from_env() -> str | None:
    return first_env((BASE_URL_ENV,), os.environ)


def gateway_id_from_env() -> str | None:
    return first_env((GATEWAY_ID_ENV,), os.environ)


@dataclass(frozen=True)
class ClientSettings:
    """A snapshot of an adapter's connection fields."""

    account_id: str | None = None
    api_token: SecretStr | None = None
    base_url: str | None = None
    gateway_id: str | None = None
    timeout: float = 60.0
    max_retries: int = 2
    fallback_models: tuple[str, ...] = ()
    requests_per_minute: float | None = None
    gateway: GatewayOptions | None = None

    def sync_client(
        self, http_client: httpx.Client | None = None, rate_limiter: RateLimiter | None = None
    ) -> WorkersAI:
        from .client import WorkersAI  # httpx is imported with the first client, not the adapter

        return WorkersAI(
            account_id=self.account_id,
            api_token=self.api_token,
            base_url=self.base_url,
            gateway_id=self.gateway_id,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=http_client,
            fallback_models=self.fallback_models,
            rate_limiter=rate_limiter,
            gateway=self.gateway,
        )

    def async_client(
        self, http_client: httpx.AsyncClient | None = None, rate_limiter: RateLimiter | None = None
    ) -> AsyncWorkersAI:
        from .client import AsyncWorkersAI

        return AsyncWorkersAI(
            account_id=self.account_id,
            api_token=self.api_token,
            base_url=self.base_url,
            gateway_id=self.gateway_id,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=http_client,
            fallback_models=self.fallback_models,
            rate_limiter=rate_limiter,
            gateway=self.gateway,
        )


def check_connection(
    base_url: str | None, gateway_id: str | None, gateway: GatewayOptions | None
) -> None:
    """Refuse settings the first client would refuse (a bad URL, a token over plain http,
    gateway options without a gateway), at construction; no I/O, and nothing is built."""
    resolved_base_url(base_url, os.environ, allow_insecure_http=False)
    resolved_gateway_url(None, os.environ, allow_insecure_http=False)
    if gateway is not None:
        require_gateway(
            gateway,
            gateway_id or gateway_id_from_env(),
            "gateway_token, gateway_cache_ttl, gateway_skip_cache, gateway_metadata",
        )


def _check_injected(http_client: object, async_http_client: object) -> None:
    """An injected client of the wrong kind fails at construction, not at the first call."""
    if http_client is None and async_http_client is None:
        return
    import httpx  # already imported by whoever built the client

    for name, value, kind in (
        ("http_client", http_client, httpx.Client),
        ("async_http_client", async_http_client, httpx.AsyncClient),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(
                f"{name} must be an httpx.{kind.__name__}, got {type(value).__name__} (sync "
                "calls use http_client=httpx.Client(), async ones async_http_client="
                "httpx.AsyncClient())"
            )


class LazyClients:
    """One sync client, and one async client per event loop, shared by every call.

    An injected ``http_client`` (``httpx.Client``) carries every sync request, an injected
    ``async_http_client`` (``httpx.AsyncClient``) every async one, whatever the connection
    settings become; they stay the caller's to close. A pickled copy does not carry them (it
    opens pools of its own); a copy made with ``copy``/``model_copy`` shares them.
    """

    def __init__(
        self,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        _check_injected(http_client, async_http_client)
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._lock = threading.Lock()
        self._limiter: RateLimiter | None = None
        self._sync: tuple[ClientSettings, WorkersAI] | None = None
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[ClientSettings, AsyncWorkersAI]
        ] = weakref.WeakKeyDictionary()

    def __copy__(self) -> LazyClients:
        # A copied model object gets pools of its own (locks and sockets do not copy).
        return LazyClients(self._http_client, self._async_http_client)

    def __deepcopy__(self, memo: dict[int, object]) -> LazyClients:
        return self.__copy__()

    def __reduce__(self) -> tuple[type[LazyClients], tuple[()]]:
        # Frameworks pickle model objects (e.g. for worker processes); sockets and an injected
        # httpx client cannot travel, so the copy opens its own pools on first use.
        return (LazyClients, ())

    def _rate_limiter(self, requests_per_minute: float | None) -> RateLimiter | None:
        """One bucket for the sync client and every loop's async client: the limit is the
        model object's, however it is called."""
        if requests_per_minute is None:
            return None
        limiter = self._limiter
        if limiter is None or limiter.requests_per_minute != requests_per_minute:
            limiter = self._limiter = RateLimiter(requests_per_minute)
        return limiter

    def sync(self, settings: ClientSettings) -> WorkersAI:
        with self._lock:  # threads sharing one model object share one pool
            if self._sync is None or self._sync[0] != settings:
                limiter = self._rate_limiter(settings.requests_per_minute)
                self._sync = (settings, settings.sync_client(self._http_client, limiter))
            return self._sync[1]

    def async_(self, settings: ClientSettings) -> AsyncWorkersAI:
        loop = asyncio.get_running_loop()
        cached = self._async.get(loop)
        if cached is None or cached[0] != settings:
            with self._lock:
                limiter = self._rate_limiter(settings.requests_per_minute)
            client = settings.async_client(self._async_http_client, limiter)
            cached = self._async[loop] = (settings, client)
        return cached[1]

    def close(self) -> None:
        """Close the sync client's connections (an injected httpx client stays open: the
        caller closes it)."""
        with self._lock:
            if self._sync is not None:
                self._sync[1].close()
                self._sync = None

    async def aclose(self) -> None:
        """Close the running event loop's async client (an injected one stays open)."""
        cached = self._async.pop(asyncio.get_running_loop(), None)
        if cached is not None:
            await cached[1].aclose()


def argument_names(model: type[BaseModel]) -> set[str]:
    """What ``model(...)`` takes by keyword: each field's name and every alias of it."""
    names = set(model.model_fields)
    for field in model.model_fields.values():
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
            elif alias is not None and hasattr(alias, "choices"):
                names.update(c for c in alias.choices if isinstance(c, str))
    return names | {"http_client", "async_http_client"}


def refuse_unknown_arguments(model: type[BaseModel], data: Any, hint: str = "") -> None:
    """Raise ``TypeError`` (as Python does for a function) naming any keyword argument
    ``model`` has no field for, with the closest field; ``hint`` says where such options go.

    For frameworks that would otherwise drop a misspelt ``temprature=`` without a word.
    """
    if not isinstance(data, dict):
        return
    known = argument_names(model)
    unknown = sorted(str(key) for key in data if key not in known)
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    plural = "s" if len(unknown) > 1 else ""
    raise TypeError(
        f"{model.__name__}() got unexpected keyword argument{plural} {', '.join(parts)}"
        + (f"; {hint}" if hint else "")
    )


class ConnectionFields(BaseModel):
    """Where requests go and how they authenticate; mixed into every adapter class.

    Besides the fields, the constructor takes ``http_client=`` (an ``httpx.Client``) and
    ``async_http_client=`` (an ``httpx.AsyncClient``): when given, every sync (async) request
    of the object goes through it, with its transport, proxies, headers and event hooks; the
    object never closes it (``close()``/``aclose()`` close only pools the object opened).
    """

    # api_token= and its alias api_key=; no input in validation errors: it holds the token.
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)

    account_id: str | None = Field(
        default_factory=account_id_from_env,
        description="Cloudflare account id (default: CLOUDFLARE_ACCOUNT_ID or CF_ACCOUNT_ID).",
    )
    api_token: SecretStr | None = Field(
        default_factory=api_token_from_env,
        alias="api_key",
        exclude=True,
        description="Cloudflare API token (default: CLOUDFLARE_API_TOKEN or CF_API_TOKEN).",
    )
    base_url: str | None = Field(
        default_factory=base_url_from_env,
        description="Replaces https://api.cloudflare.com/client/v4 (default: WORKERS_AI_BASE_URL).",
    )
    gateway_id: str | None = Field(
        default_factory=gateway_id_from_env,
        description="Route through this AI Gateway (default: WORKERS_AI_GATEWAY_ID).",
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for an answer.")
    max_retries: int = Field(
        default=2,
        ge=0,
        description="Retries of connection errors, timeouts, 408/409/429 (not 3036) and 5xx.",
    )
    fallback_models: list[str] = Field(
        default_factory=list,
        description="Models to try in turn when the model is out of capacity, failing or "
        "unavailable after its retries (never on auth, bad input or the daily quota).",
    )
    requests_per_minute: float | None = Field(
        default=None,
        gt=0,
        description="Client-side rate limit shared by every call of this object, sync and "
        "async (a token bucket; bursts of one second's worth).",
    )
    gateway_token: SecretStr | None = Field(
        default=None,
        exclude=True,
        description="Token of an authenticated AI Gateway, sent as cf-aig-authorization "
        "(default: WORKERS_AI_GATEWAY_TOKEN, when a gateway is used).",
    )
    gateway_cache_ttl: int | None = Field(
        default=None, ge=0, description="AI Gateway: cache answers this many seconds."
    )
    gateway_skip_cache: bool = Field(
        default=False, description="AI Gateway: neither read nor write the gateway's cache."
    )
    gateway_metadata: dict[str, MetadataValue] | None = Field(
        default=None, description="AI Gateway: up to five values logged with each request."
    )

    _clients: LazyClients = PrivateAttr(default_factory=LazyClients)

    def __init__(
        self,
        /,
        *,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **data: Any,
    ) -> None:
        super().__init__(**data)
        # Checked after validation, not in a validator: pydantic would wrap the error in a
        # ValidationError that carries the whole input, token included. Opens nothing.
        check_connection(self.base_url, self.gateway_id, self._gateway_options())
        if http_client is not None or async_http_client is not None:
            self._clients = LazyClients(http_client, async_http_client)

    def connection_settings(self) -> ClientSettings:
        """The connection fields as they are now (clients are rebuilt when they change)."""
        return ClientSettings(
            account_id=self.account_id,
            api_token=self.api_token,
            base_url=self.base_url,
            gateway_id=self.gateway_id,
            timeout=self.timeout,
            max_retries=self.max_retries,
            fallback_models=tuple(self.fallback_models),
            requests_per_minute=self.requests_per_minute,
            gateway=self._gateway_options(),
        )

    def _gateway_options(self) -> GatewayOptions | None:
        if not (
            self.gateway_token
            or self.gateway_cache_ttl is not None
            or self.gateway_skip_cache
            or self.gateway_metadata is not None
        ):
            return None  # the common case, without building options to find them empty
        return GatewayOptions(
            token=self.gateway_token,
            cache_ttl=self.gateway_cache_ttl,
            skip_cache=True if self.gateway_skip_cache else None,
            metadata=self.gateway_metadata,
        )

    def sync_client(self) -> WorkersAI:
        """This object's sync core client (made on first use, then reused)."""
        return self._clients.sync(self.connection_settings())

    def async_client(self) -> AsyncWorkersAI:
        """This object's async core client for the running event loop."""
        return self._clients.async_(self.connection_settings())

    def close(self) -> None:
        """Close the sync connection pool (a later call opens a new one)."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the running event loop's async connection pool."""
        await self._clients.aclose()
