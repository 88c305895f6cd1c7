"""Live tier: real Cloudflare, only when credentials are in the environment."""

from __future__ import annotations

import os

import pytest

HAVE_CREDENTIALS = bool(
    (os.environ.get("CLOUDFLARE_ACCOUNT_ID") or os.environ.get("CF_ACCOUNT_ID"))
    and (os.environ.get("CLOUDFLARE_API_TOKEN") or os.environ.get("CF_API_TOKEN"))
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN")
    for item in items:
        if "tests/live/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.live)
            if not HAVE_CREDENTIALS:
                item.add_marker(skip)
