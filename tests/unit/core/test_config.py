"""Configuration: arguments, then the environment; safe URLs; clear messages."""

from __future__ import annotations

import pytest

from workers_ai._config import ClientConfig
from workers_ai.errors import ConfigurationError


def test_arguments_win_over_the_environment() -> None:
    env = {"CLOUDFLARE_ACCOUNT_ID": "env-acct", "CLOUDFLARE_API_TOKEN": "env-token"}
    config = ClientConfig.resolve(account_id="arg", api_token="tok", environ=env)
    assert config.account_id == "arg"
    assert config.api_token is not None and config.api_token.get_secret_value() == "tok"


def test_environment_fallbacks_in_order() -> None:
    config = ClientConfig.resolve(environ={"CF_ACCOUNT_ID": "a", "CF_API_TOKEN": "t"})
    assert config.account_id == "a"
    assert config.auth_headers()["Authorization"] == "Bearer t"
    both = ClientConfig.resolve(
        environ={"CLOUDFLARE_ACCOUNT_ID": "first", "CF_ACCOUNT_ID": "second"}
    )
    assert both.account_id == "first"


def test_urls_and_gateway() -> None:
    config = ClientConfig.resolve(account_id="acct", environ={})
    assert config.run_url("@cf/meta/llama-3.1-8b-instruct-fp8") == (
        "https://api.cloudflare.com/client/v4/accounts/acct/ai/run/@cf/meta/llama-3.1-8b-instruct-fp8"
    )
    env = {"WORKERS_AI_BASE_URL": "http://127.0.0.1:9/client/v4/", "WORKERS_AI_GATEWAY_ID": "gw"}
    routed = ClientConfig.resolve(account_id="acct", environ=env)
    assert routed.base_url == "http://127.0.0.1:9/client/v4"
    assert routed.run_url("@cf/x/y") == (
        "https://gateway.ai.cloudflare.com/v1/acct/gw/workers-ai/@cf/x/y"
    )
    assert routed.account_url("ai/models/search") == (
        "http://127.0.0.1:9/client/v4/accounts/acct/ai/models/search"
    )


def test_missing_credentials_name_the_argument_and_the_variable() -> None:
    config = ClientConfig.resolve(environ={})
    with pytest.raises(ConfigurationError, match=r"account_id=.*CLOUDFLARE_ACCOUNT_ID"):
        config.run_url("m")
    with pytest.raises(ConfigurationError, match=r"api_token=.*CLOUDFLARE_API_TOKEN"):
        config.auth_headers()


@pytest.mark.parametrize("url", ["http://example.com/client/v4", "http://10.0.0.5/x"])
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="unencrypted"):
        ClientConfig.resolve(base_url=url, environ={})
    assert ClientConfig.resolve(base_url=url, allow_insecure_http=True, environ={}).base_url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8787", "http://localhost/x", "http://[::1]:1"])
def test_plain_http_to_loopback_is_fine(url: str) -> None:
    assert ClientConfig.resolve(base_url=url, environ={}).base_url == url


def test_not_a_url() -> None:
    with pytest.raises(ConfigurationError, match="http"):
        ClientConfig.resolve(base_url="ftp://x", environ={})


def test_token_is_secret_in_repr() -> None:
    config = ClientConfig.resolve(account_id="a", api_token="s3cret-token", environ={})
    assert "s3cret-token" not in repr(config) and "s3cret-token" not in str(config)
