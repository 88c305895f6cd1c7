"""``WorkersAI`` and ``AsyncWorkersAI``: one request path, one retry policy, two ways to send.

Everything but the I/O lives in ``_Core``: building requests, reading answers, classifying
errors, the retry decision. The sync and async clients differ only in how they send, sleep and
iterate a stream.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Any

import httpx
from httpx_sse import EventSource
from pydantic import SecretStr
from typing_extensions import Self, Unpack

from ._config import ClientConfig
from ._parse import (
    embedding_result,
    parse_chat_result,
    parse_embeddings,
    parse_model_info,
    parse_usage,
    unwrap_envelope,
)
from ._request import (
    ChatOptions,
    build_chat_body,
    check_run_payload,
    embedding_batches,
)
from ._retry import RetryPolicy
from .errors import (
    APIConnectionError,
    APITimeoutError,
    StreamError,
    UnexpectedResponseError,
    WorkersAIError,
    error_from_response,
    failure_in_envelope,
)
from .streaming import StreamParser, chunk_from_result
from .types import ChatChunk, ChatResult, EmbeddingResult, Message, ModelInfo, Usage

logger = logging.getLogger("workers_ai")

try:
    _VERSION = version("workers-ai-integrations")
except PackageNotFoundError:  # running from a source tree
    _VERSION = "0"
USER_AGENT = f"workers-ai-integrations/{_VERSION}"

MODELS_PAGE_SIZE = 100
DEFAULT_EMBED_CONCURRENCY = 4


@dataclass(frozen=True)
class _Request:
    method: str
    url: str | httpx.URL
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    json_mode: bool = False


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA bundle is most of what creating an
    httpx client costs (about 15 ms), and the context is safe to share."""
    return httpx.create_ssl_context()


def _transport_error(exc: httpx.HTTPError, request: _Request) -> WorkersAIError:
    where = f"{request.method} {request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Workers AI did not answer in time ({where}): {exc!r}")
    return APIConnectionError(f"Could not reach Workers AI ({where}): {exc!r}")


def _is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


class _Core:
    """State and pure logic shared by both clients."""

    def __init__(
        self,
        *,
        account_id: str | None,
        api_token: str | SecretStr | None,
        base_url: str | None,
        gateway_id: str | None,
        gateway_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        allow_insecure_http: bool,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._config = ClientConfig.resolve(
            account_id=account_id,
            api_token=api_token,
            base_url=base_url,
            gateway_id=gateway_id,
            gateway_url=gateway_url,
            allow_insecure_http=allow_insecure_http,
        )
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._retry = RetryPolicy(max_retries=max_retries)
        # Per-call work done once: httpx re-parses a str URL on every request.
        self._auth: dict[str, str] | None = None
        self._run_urls: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:
        c = self._config
        gateway = f", gateway_id={c.gateway_id!r}" if c.gateway_id else ""
        return (
            f"{type(self).__name__}(account_id={c.account_id!r}, base_url={c.base_url!r}{gateway})"
        )

    @property
    def config(self) -> ClientConfig:
        return self._config

    @property
    def max_retries(self) -> int:
        return self._retry.max_retries

    # -- building requests -------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self._auth is None:  # a missing token still fails at the first call, not before
            self._auth = {**self._config.auth_headers(), "User-Agent": USER_AGENT}
        return self._auth

    def _run_url(self, model: str) -> httpx.URL:
        url = self._run_urls.get(model)
        if url is None:
            url = self._run_urls[model] = httpx.URL(self._config.run_url(model))
        return url

    def _chat_request(
        self,
        model: str,
        messages: Sequence[Message] | None,
        prompt: str | None,
        stream: bool,
        options: ChatOptions,
    ) -> _Request:
        body = build_chat_body(model, messages, prompt, stream=stream, options=options)
        return _Request(
            "POST",
            self._run_url(model),
            json=body,
            model=model,
            json_mode="response_format" in body,
        )

    def _embed_requests(self, model: str, texts: str | Sequence[str]) -> list[_Request]:
        url = self._run_url(model)
        return [
            _Request("POST", url, json={"text": batch}, model=model)
            for batch in embedding_batches(model, texts)
        ]

    def _run_request(self, model: str, payload: Mapping[str, Any]) -> _Request:
        check_run_payload(model, payload)
        return _Request("POST", self._run_url(model), json=dict(payload), model=model)

    def _models_request(self, page: int, task: str | None, search: str | None) -> _Request:
        params: dict[str, Any] = {"page": page, "per_page": MODELS_PAGE_SIZE}
        if task:
            params["task"] = task
        if search:
            params["search"] = search
        return _Request("GET", self._config.account_url("ai/models/search"), params=params)

    def _httpx_kwargs(self, request: _Request) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"headers": self._headers(), "timeout": self._timeout}
        if request.json is not None:
            kwargs["json"] = request.json
        if request.params:
            kwargs["params"] = request.params
        return kwargs

    # -- reading answers ---------------------------------------------------------------------

    @staticmethod
    def _log(request: _Request, response: httpx.Response) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return
        logger.debug(
            "%s %s -> %s (cf-ray %s)",
            request.method,
            request.url,
            response.status_code,
            response.headers.get("cf-ray"),
        )

    @staticmethod
    def _error_for(response: httpx.Response) -> WorkersAIError | None:
        """The error an already-read answer stands for, or None when it is a success."""
        if response.status_code >= 400:
            return error_from_response(response.status_code, response.content, response.headers)
        return None

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        """The ``result`` of a successful answer; a 200 that says ``success: false`` raises."""
        try:
            body = response.json()
        except ValueError as exc:
            raise UnexpectedResponseError(
                f"Workers AI answered {response.status_code} with a body that is not JSON: "
                f"{response.text[:200]!r}"
            ) from exc
        if failure_in_envelope(body):
            raise error_from_response(400, response.content, response.headers)
        return unwrap_envelope(body)

    def _chat_result(self, request: _Request, response: httpx.Response) -> ChatResult:
        return parse_chat_result(
            self._result(response),
            model=request.model,
            cf_ray=response.headers.get("cf-ray"),
            json_mode=request.json_mode,
        )

    def _embedding_result(
        self, model: str, batches: list[tuple[list[list[float]], Usage | None]]
    ) -> EmbeddingResult:
        vectors = [v for batch_vectors, _ in batches for v in batch_vectors]
        usages = [u for _, u in batches if u is not None]
        usage = None
        if usages:
            usage = Usage(
                prompt_tokens=sum(u.prompt_tokens for u in usages),
                total_tokens=sum(u.total_tokens for u in usages),
            )
        return embedding_result(model, vectors, usage)

    def _embedding_batch(
        self, request: _Request, response: httpx.Response
    ) -> tuple[list[list[float]], Usage | None]:
        result = self._result(response)
        vectors = parse_embeddings(result)
        sent = len(request.json["text"])
        if len(vectors) != sent:
            raise UnexpectedResponseError(
                f"Workers AI returned {len(vectors)} embeddings for {sent} texts"
            )
        usage = parse_usage(result.get("usage")) if isinstance(result, Mapping) else None
        return vectors, usage

    @staticmethod
    def _models_page(response: httpx.Response) -> tuple[list[ModelInfo], bool]:
        """One page of the catalog, and whether another page follows."""
        body = response.json()
        items = unwrap_envelope(body)
        if not isinstance(items, list):
            raise UnexpectedResponseError(f"The model catalog is not a list: {items!r:.200}")
        models = [parse_model_info(item) for item in items]
        info = body.get("result_info") if isinstance(body, Mapping) else None
        if isinstance(info, Mapping) and info.get("total_count") is not None:
            page = int(info.get("page") or 1)
            per_page = int(info.get("per_page") or MODELS_PAGE_SIZE)
            return models, page * per_page < int(info["total_count"])
        return models, len(items) >= MODELS_PAGE_SIZE

    def _retry_delay(self, attempt: int, error: WorkersAIError, request: _Request) -> float | None:
        delay = self._retry.delay(attempt, error)
        if delay is not None:
            logger.info(
                "Workers AI %s %s failed (%s); retry %d of %d in %.2f s",
                request.method,
                request.url,
                error.message,
                attempt + 1,
                self._retry.max_retries,
                delay,
            )
        return delay


class WorkersAI(_Core):
    """Synchronous Workers AI client. One connection pool per object; no I/O until a call."""

    def __init__(
        self,
        account_id: str | None = None,
        api_token: str | SecretStr | None = None,
        base_url: str | None = None,
        gateway_id: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
        *,
        gateway_url: str | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        super().__init__(
            account_id=account_id,
            api_token=api_token,
            base_url=base_url,
            gateway_id=gateway_id,
            gateway_url=gateway_url,
            timeout=timeout,
            max_retries=max_retries,
            allow_insecure_http=allow_insecure_http,
        )
        self._owns_http = http_client is None
        self._http_client = http_client  # ours is made on first use: construction stays cheap
        self._http_lock = threading.Lock()

    # -- public API ---------------------------------------------------------------------------

    def chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        """One whole answer from a text-generation model."""
        request = self._chat_request(model, messages, prompt, False, options)
        return self._chat_result(request, self._send(request))

    def stream_chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        **options: Unpack[ChatOptions],
    ) -> Iterator[ChatChunk]:
        """Chunks as they arrive; the last one carries usage and finish_reason."""
        request = self._chat_request(model, messages, prompt, True, options)
        return self._stream(request)

    def embed(self, model: str, texts: str | Sequence[str]) -> EmbeddingResult:
        """Embeddings for ``texts`` (split into requests the model accepts), in order."""
        requests = self._embed_requests(model, texts)
        batches = [self._embedding_batch(r, self._send(r)) for r in requests]
        return self._embedding_result(model, batches)

    def models(self, task: str | None = None, search: str | None = None) -> list[ModelInfo]:
        """Every model in the catalog (all pages), optionally filtered."""
        found: list[ModelInfo] = []
        page, more = 1, True
        while more:
            models, more = self._models_page(self._send(self._models_request(page, task, search)))
            found.extend(models)
            page += 1
        return found

    def run(self, model: str, payload: Mapping[str, Any]) -> Any:
        """Any model, any task: send ``payload`` as is and return the ``result``."""
        return self._result(self._send(self._run_request(model, payload)))

    def close(self) -> None:
        """Release the connection pool (an injected client stays open; a later call reopens)."""
        if self._owns_http and self._http_client is not None:
            self._http_client.close()
            self._http_client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------------------

    @property
    def _http(self) -> httpx.Client:
        client = self._http_client
        if client is None:
            with self._http_lock:  # threads sharing this object share one pool
                if self._http_client is None:
                    self._http_client = httpx.Client(verify=shared_ssl_context())
                client = self._http_client
        return client

    def _send(self, request: _Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                try:
                    response = self._http.request(
                        request.method, request.url, **self._httpx_kwargs(request)
                    )
                except httpx.HTTPError as exc:
                    raise _transport_error(exc, request) from exc
                self._log(request, response)
                error = self._error_for(response)
                if error is not None:
                    raise error
                return response
            except WorkersAIError as error:
                delay = self._retry_delay(attempt, error, request)
                if delay is None:
                    raise
                time.sleep(delay)
                attempt += 1

    def _stream(self, request: _Request) -> Iterator[ChatChunk]:
        attempt = 0
        while True:
            started = False
            try:
                try:
                    with self._http.stream(
                        request.method, request.url, **self._httpx_kwargs(request)
                    ) as response:
                        self._log(request, response)
                        if response.status_code >= 400 or not _is_event_stream(response):
                            response.read()
                            error = self._error_for(response)
                            if error is not None:
                                raise error
                            yield chunk_from_result(self._chat_result(request, response))
                            return
                        parser = StreamParser(request.model, response.headers.get("cf-ray"))
                        for event in EventSource(response).iter_sse():
                            chunk = parser.feed(event.data)
                            if chunk is not None:
                                started = True
                                yield chunk
                            if parser.done:
                                return
                        raise parser.incomplete_error()
                except httpx.HTTPError as exc:
                    if started:
                        raise StreamError(f"The stream broke mid-way: {exc!r}") from exc
                    raise _transport_error(exc, request) from exc
            except WorkersAIError as error:
                delay = None if started else self._retry_delay(attempt, error, request)
                if delay is None:
                    raise
                time.sleep(delay)
                attempt += 1


class AsyncWorkersAI(_Core):
    """Asynchronous Workers AI client; the same surface as :class:`WorkersAI`."""

    def __init__(
        self,
        account_id: str | None = None,
        api_token: str | SecretStr | None = None,
        base_url: str | None = None,
        gateway_id: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        *,
        gateway_url: str | None = None,
        allow_insecure_http: bool = False,
        embed_concurrency: int = DEFAULT_EMBED_CONCURRENCY,
    ) -> None:
        super().__init__(
            account_id=account_id,
            api_token=api_token,
            base_url=base_url,
            gateway_id=gateway_id,
            gateway_url=gateway_url,
            timeout=timeout,
            max_retries=max_retries,
            allow_insecure_http=allow_insecure_http,
        )
        if embed_concurrency < 1:
            raise ValueError("embed_concurrency must be >= 1")
        self.embed_concurrency = embed_concurrency
        self._owns_http = http_client is None
        self._http_client = http_client  # ours is made on first use: construction stays cheap

    # -- public API ---------------------------------------------------------------------------

    async def chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        request = self._chat_request(model, messages, prompt, False, options)
        return self._chat_result(request, await self._send(request))

    def stream_chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        **options: Unpack[ChatOptions],
    ) -> AsyncIterator[ChatChunk]:
        """``async for chunk in client.stream_chat(...)``; input is checked at the call."""
        request = self._chat_request(model, messages, prompt, True, options)
        return self._stream(request)

    async def embed(self, model: str, texts: str | Sequence[str]) -> EmbeddingResult:
        """Like :meth:`WorkersAI.embed`; batches go out concurrently (``embed_concurrency``)."""
        requests = self._embed_requests(model, texts)
        gate = asyncio.Semaphore(self.embed_concurrency)

        async def one(request: _Request) -> tuple[list[list[float]], Usage | None]:
            async with gate:
                return self._embedding_batch(request, await self._send(request))

        batches = await asyncio.gather(*(one(r) for r in requests))
        return self._embedding_result(model, list(batches))

    async def models(self, task: str | None = None, search: str | None = None) -> list[ModelInfo]:
        found: list[ModelInfo] = []
        page, more = 1, True
        while more:
            response = await self._send(self._models_request(page, task, search))
            models, more = self._models_page(response)
            found.extend(models)
            page += 1
        return found

    async def run(self, model: str, payload: Mapping[str, Any]) -> Any:
        return self._result(await self._send(self._run_request(model, payload)))

    async def aclose(self) -> None:
        """Release the connection pool (an injected client stays open; a later call reopens)."""
        if self._owns_http and self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- sending ------------------------------------------------------------------------------

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._http_client is None:
            self._http_client = httpx.AsyncClient(verify=shared_ssl_context())
        return self._http_client

    async def _send(self, request: _Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                try:
                    response = await self._http.request(
                        request.method, request.url, **self._httpx_kwargs(request)
                    )
                except httpx.HTTPError as exc:
                    raise _transport_error(exc, request) from exc
                self._log(request, response)
                error = self._error_for(response)
                if error is not None:
                    raise error
                return response
            except WorkersAIError as error:
                delay = self._retry_delay(attempt, error, request)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    async def _stream(self, request: _Request) -> AsyncIterator[ChatChunk]:
        attempt = 0
        while True:
            started = False
            try:
                try:
                    async with self._http.stream(
                        request.method, request.url, **self._httpx_kwargs(request)
                    ) as response:
                        self._log(request, response)
                        if response.status_code >= 400 or not _is_event_stream(response):
                            await response.aread()
                            error = self._error_for(response)
                            if error is not None:
                                raise error
                            yield chunk_from_result(self._chat_result(request, response))
                            return
                        parser = StreamParser(request.model, response.headers.get("cf-ray"))
                        async for event in EventSource(response).aiter_sse():
                            chunk = parser.feed(event.data)
                            if chunk is not None:
                                started = True
                                yield chunk
                            if parser.done:
                                return
                        raise parser.incomplete_error()
                except httpx.HTTPError as exc:
                    if started:
                        raise StreamError(f"The stream broke mid-way: {exc!r}") from exc
                    raise _transport_error(exc, request) from exc
            except WorkersAIError as error:
                delay = None if started else self._retry_delay(attempt, error, request)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1


__all__ = ["AsyncWorkersAI", "WorkersAI"]
