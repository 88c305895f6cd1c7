"""Credentials and endpoints: constructor arguments first, then the environment."""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from .errors import ConfigurationError

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_GATEWAY_URL = "https://gateway.ai.cloudflare.com/v1"
DEFAULT_EMBED_CONCURRENCY = 4  # embedding requests in flight at once, sync (threads) and async

# Environment variables, in the order they are tried.
ACCOUNT_ID_ENV = ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID")
API_TOKEN_ENV = ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN")
BASE_URL_ENV = "WORKERS_AI_BASE_URL"
GATEWAY_ID_ENV = "WORKERS_AI_GATEWAY_ID"
GATEWAY_URL_ENV = "WORKERS_AI_GATEWAY_URL"
GATEWAY_TOKEN_ENV = "WORKERS_AI_GATEWAY_TOKEN"


def first_env(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=64)  # parsing a URL is most of what building a client costs
def _checked_url(url: str, what: str, allow_insecure_http: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{what} must be an http(s) URL, got {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure_http:
        raise ConfigurationError(
            f"{what} {url!r} uses plain http to a non-loopback host, which would send the API "
            "token unencrypted. Use https (plain http is allowed only to loopback hosts; the "
            "core clients take allow_insecure_http=True if you really mean it)."
        )
    return url.rstrip("/")


def resolved_base_url(
    base_url: str | None, env: Mapping[str, str], allow_insecure_http: bool
) -> str:
    """The API's URL: the argument, else WORKERS_AI_BASE_URL, else Cloudflare's; checked."""
    url = base_url or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return _checked_url(url, "base_url", allow_insecure_http)


def resolved_gateway_url(
    gateway_url: str | None, env: Mapping[str, str], allow_insecure_http: bool
) -> str:
    """AI Gateway's URL: the argument, else WORKERS_AI_GATEWAY_URL, else Cloudflare's; checked."""
    url = gateway_url or env.get(GATEWAY_URL_ENV) or DEFAULT_GATEWAY_URL
    return _checked_url(url, "gateway_url", allow_insecure_http)


@dataclass(frozen=True)
class ClientConfig:
    """Where requests go and how they authenticate. Built once per client; no I/O."""

    account_id: str | None
    api_token: SecretStr | None
    base_url: str
    gateway_id: str | None
    gateway_url: str

    @classmethod
    def resolve(
        cls,
        *,
        account_id: str | None = None,
        api_token: str | SecretStr | None = None,
        base_url: str | None = None,
        gateway_id: str | None = None,
        gateway_url: str | None = None,
        allow_insecure_http: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        env = os.environ if environ is None else environ
        token = api_token if api_token is not None else first_env(API_TOKEN_ENV, env)
        if isinstance(token, str):
            token = SecretStr(token) if token.strip() else None
        return cls(
            account_id=account_id or first_env(ACCOUNT_ID_ENV, env),
            api_token=token,
            base_url=resolved_base_url(base_url, env, allow_insecure_http),
            gateway_id=gateway_id or first_env((GATEWAY_ID_ENV,), env),
            gateway_url=resolved_gateway_url(gateway_url, env, allow_insecure_http),
        )

    def require_account_id(self) -> str:
        if not self.account_id:
            raise ConfigurationError(
                "No Cloudflare account id: pass account_id=... or set CLOUDFLARE_ACCOUNT_ID "
                "(or CF_ACCOUNT_ID)."
            )
        return self.account_id

    def auth_headers(self) -> dict[str, str]:
        if self.api_token is None:
            raise ConfigurationError(
                "No Cloudflare API token: pass api_token=... or set CLOUDFLARE_API_TOKEN "
                "(or CF_API_TOKEN)."
            )
        return {"Authorization": f"Bearer {self.api_token.get_secret_value()}"}

    def run_url(self, model: str) -> str:
        """URL of a model; slashes in the model name stay as they are (encoding them is 7000)."""
        account = self.require_account_id()
        if self.gateway_id:
            return f"{self.gateway_url}/{account}/{self.gateway_id}/workers-ai/{model}"
        return self.api_run_url(model)

    def api_run_url(self, model: str) -> str:
        """URL of a model on the API itself, never through a gateway (the Batch API's home)."""
        return f"{self.base_url}/accounts/{self.require_account_id()}/ai/run/{model}"

    def account_url(self, path: str) -> str:
        return f"{self.base_url}/accounts/{self.require_account_id()}/{path.lstrip('/')}"
