"""``WorkersAI`` and ``AsyncWorkersAI``: one request path, one retry policy, two ways to send.

Everything but the I/O lives in ``_Core``: building requests, reading answers, classifying
errors, the retry decision. The sync and async clients differ only in how they send, sleep and
iterate a stream.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr
from typing_extensions import Self, Unpack

from . import _batch, _tasks
from ._catalog import checked_model, context_window
from ._config import DEFAULT_EMBED_CONCURRENCY, GATEWAY_TOKEN_ENV, ClientConfig, first_env
from ._gateway import AUTH_HEADER as GATEWAY_AUTH_HEADER
from ._gateway import GatewayOptions, gateway_options, require_gateway
from ._parse import (
    as_int,
    embedding_result,
    parse_chat_result,
    parse_embeddings,
    parse_model_info,
    parse_usage,
    preview,
    unwrap_envelope,
)
from ._ratelimit import RateLimiter
from ._request import (
    ChatOptions,
    build_chat_body,
    check_run_payload,
    client_side_stop,
    embedding_batches,
)
from ._retry import RetryPolicy, warrants_fallback
from ._sse import SSEDataDecoder
from ._tasks import Classification, Transcription
from ._threads import map_in_threads
from .errors import (
    APIConnectionError,
    APITimeoutError,
    BatchTimeoutError,
    InvalidRequestError,
    StreamError,
    UnexpectedResponseError,
    WorkersAIError,
    error_from_response,
    failure_in_envelope,
)
from .streaming import chunk_from_result, stream_parser
from .types import (
    BatchItem,
    BatchStatus,
    ChatChunk,
    ChatResult,
    EmbeddingResult,
    Message,
    ModelInfo,
    Usage,
)

logger = logging.getLogger("workers_ai")


@functools.cache
def user_agent() -> str:
    """Our User-Agent; looked up on the first request (reading package metadata is slow)."""
    from importlib.metadata import PackageNotFoundError, version  # ~10 ms to import

    try:
        installed = version("workers-ai-integrations")
    except PackageNotFoundError:  # running from a source tree
        installed = "0"
    return f"workers-ai-integrations/{installed}"


MODELS_PAGE_SIZE = 100
DEFAULT_BATCH_POLL_INTERVAL = 5.0  # seconds between polls once the first quick ones are spent
DEFAULT_BATCH_TIMEOUT = 900.0
# Answers that are the output itself, not a JSON envelope (text-to-image models send PNG).
_BINARY_TYPES = ("image/", "audio/", "video/", "application/octet-stream")

_BATCH_GATEWAY_MESSAGE = (
    "gateway options do not apply with use_batch_api: Batch API requests go to the API directly"
)

_NO_GATEWAY_OPTIONS = GatewayOptions()

_T = TypeVar("_T")
RunInputs = Mapping[str, Any] | bytes


@dataclass(frozen=True)
class _Request:
    method: str
    url: str | httpx.URL
    json: Any = None
    content: bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] | None = None
    model: str = ""
    json_mode: bool = False
    stop: tuple[str, ...] = ()
    """Stop sequences the client applies itself (the model's API has none)."""


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA bundle is most of what creating an
    httpx client costs (about 15 ms), and the context is safe to share."""
    return httpx.create_ssl_context()


def _forget_credentials(exc: httpx.HTTPError) -> None:
    """An httpx error keeps its request, whose headers hold the token (httpx masks it only in
    repr): our error chains the httpx one, so anything walking the chain could read it."""
    kept = getattr(exc, "_request", None)
    if isinstance(kept, httpx.Request):
        for name in ("authorization", GATEWAY_AUTH_HEADER):
            kept.headers.pop(name, None)


def _transport_error(exc: httpx.HTTPError, request: _Request) -> WorkersAIError:
    _forget_credentials(exc)
    where = f"{request.method} {request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Workers AI did not answer in time ({where}): {exc!r}")
    return APIConnectionError(f"Could not reach Workers AI ({where}): {exc!r}")


def _is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


# After [DONE] a stream has nothing left to send but the end of its chunked body.
_MAX_BYTES_AFTER_DONE = 64 * 1024


def _drain(body: Iterator[bytes]) -> None:
    """Read the stream's body to its end after [DONE]. httpx puts a connection back in its pool
    only when the response was read to the end; leaving the rest unread closes it, and the next
    call pays a new TCP and TLS handshake. Past the limit, or on a transport error, we give the
    connection up instead: the answer is complete either way."""
    received = 0
    try:
        for piece in body:
            received += len(piece)
            if received > _MAX_BYTES_AFTER_DONE:
                return
    except httpx.HTTPError:
        return


async def _adrain(body: AsyncIterator[bytes]) -> None:
    """:func:`_drain` for an async body."""
    received = 0
    try:
        async for piece in body:
            received += len(piece)
            if received > _MAX_BYTES_AFTER_DONE:
                return
    except httpx.HTTPError:
        return


def _is_binary(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith(_BINARY_TYPES)


def _model_names(names: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise InvalidRequestError(f"{what} must be a list of model names, got {names!r:.200}")
    return tuple(names)


def _next_in(chain: Sequence[str], position: int) -> str | None:
    return chain[position + 1] if position + 1 < len(chain) else None


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
        embed_concurrency: int,
        fallback_models: Sequence[str],
        requests_per_minute: float | None,
        rate_limiter: RateLimiter | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if embed_concurrency < 1:
            raise ValueError("embed_concurrency must be >= 1")
        self.embed_concurrency = embed_concurrency  # embedding requests in flight at once
        if requests_per_minute is not None and rate_limiter is not None:
            raise ValueError("Pass requests_per_minute or rate_limiter, not both")
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
        self.fallback_models: tuple[str, ...] = _model_names(fallback_models, "fallback_models")
        self.rate_limiter = (
            RateLimiter(requests_per_minute) if requests_per_minute is not None else rate_limiter
        )
        if gateway is None and not self._config.gateway_id:  # the common case, kept cheap
            self.gateway, self._gateway_headers = _NO_GATEWAY_OPTIONS, None
        else:
            self.gateway = self._with_env_token(gateway_options(gateway) or GatewayOptions())
            self._gateway_headers = self._check_gateway(self.gateway)
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
            self._auth = {**self._config.auth_headers(), "User-Agent": user_agent()}
        return self._auth

    def _run_url(self, model: str) -> httpx.URL:
        url = self._run_urls.get(model)
        if url is None:
            url = self._run_urls[model] = httpx.URL(self._config.run_url(model))
        return url

    def _with_env_token(self, options: GatewayOptions) -> GatewayOptions:
        """An authenticated gateway's token from WORKERS_AI_GATEWAY_TOKEN, when a gateway is
        used and no token was given (without a gateway the variable is ignored)."""
        if options.token is not None or not self._config.gateway_id:
            return options
        token = first_env((GATEWAY_TOKEN_ENV,), os.environ)
        return options.merged(GatewayOptions(token=token)) if token else options

    def _check_gateway(self, options: GatewayOptions) -> dict[str, str] | None:
        """The cf-aig-* headers for ``options``; they need a gateway to go to."""
        if options.is_empty():
            return None
        require_gateway(options, self._config.gateway_id, "token, cache, metadata")
        return options.headers()

    def _run_headers(
        self, gateway: GatewayOptions | Mapping[str, Any] | None
    ) -> dict[str, str] | None:
        """Extra headers of a request to a model: the client's gateway options, or a call's."""
        override = gateway_options(gateway)
        if override is None:
            return self._gateway_headers
        return self._check_gateway(self.gateway.merged(override))

    def _models_to_try(self, model: str, fallback_models: Sequence[str] | None) -> list[str]:
        chain = self.fallback_models if fallback_models is None else fallback_models
        if not chain:
            return [model]
        names = [model, *_model_names(chain, "fallback_models")]
        return list(dict.fromkeys(names))  # a model named twice is tried once

    @staticmethod
    def _falls_back(error: WorkersAIError, model: str, next_model: str | None) -> bool:
        """Whether to try ``next_model`` after ``error`` on ``model`` (retries already spent)."""
        if next_model is None or not warrants_fallback(error):
            return False
        logger.warning(
            "Workers AI model %s failed (%s); falling back to %s", model, error.message, next_model
        )
        return True

    def _chat_request(
        self,
        model: str,
        messages: Sequence[Message] | None,
        prompt: str | None,
        stream: bool,
        options: ChatOptions,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> _Request:
        model = checked_model(model)
        body = build_chat_body(model, messages, prompt, stream=stream, options=options)
        return _Request(
            "POST",
            self._run_url(model),
            json=body,
            headers=self._run_headers(gateway),
            model=model,
            json_mode=options.get("response_format") is not None,
            stop=client_side_stop(model, options),
        )

    def _embed_requests(
        self,
        model: str,
        texts: str | Sequence[str],
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        batch_size: int | None = None,
    ) -> list[_Request]:
        model = checked_model(model)
        url = self._run_url(model)
        headers = self._run_headers(gateway)
        return [
            _Request("POST", url, json={"text": batch}, headers=headers, model=model)
            for batch in embedding_batches(model, texts, batch_size)
        ]

    def _run_request(
        self,
        model: str,
        inputs: Mapping[str, Any] | bytes,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> _Request:
        model = checked_model(model)
        headers = self._run_headers(gateway)
        if isinstance(inputs, (bytes, bytearray, memoryview)):
            # Binary input (audio, images): the body is the bytes themselves.
            raw = bytes(inputs)
            if not raw:
                raise InvalidRequestError("inputs is empty: pass the audio or image bytes")
            binary = {**(headers or {}), "Content-Type": "application/octet-stream"}
            return _Request("POST", self._run_url(model), content=raw, headers=binary, model=model)
        check_run_payload(model, inputs)
        return _Request(
            "POST", self._run_url(model), json=dict(inputs), headers=headers, model=model
        )

    def _batch_request(self, model: str, body: dict[str, Any]) -> _Request:
        # Straight to the API, gateway or not: Cloudflare documents the Batch API there.
        model = checked_model(model)
        url = self._config.api_run_url(model)
        return _Request("POST", url, json=body, params=dict(_batch.QUEUE_PARAMS), model=model)

    def _models_request(self, page: int, task: str | None, search: str | None) -> _Request:
        params: dict[str, Any] = {"page": page, "per_page": MODELS_PAGE_SIZE}
        if task:
            params["task"] = task
        if search:
            params["search"] = search
        return _Request("GET", self._config.account_url("ai/models/search"), params=params)

    def _httpx_kwargs(self, request: _Request, pooled: bool) -> dict[str, Any]:
        """httpx's arguments for ``request``; ``pooled``: the httpx client is ours and already
        carries the auth headers and timeout (merging them per request costs ~6 us)."""
        kwargs: dict[str, Any] = {}
        if not pooled:
            kwargs["headers"] = self._headers()
            kwargs["timeout"] = self._timeout
        if request.headers:
            kwargs["headers"] = {**kwargs.get("headers", {}), **request.headers}
        if request.content is not None:
            kwargs["content"] = request.content
        elif request.json is not None:
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
    def _error_for(request: _Request, response: httpx.Response) -> WorkersAIError | None:
        """The error an already-read answer stands for, or None when it is a success."""
        if response.status_code >= 400:
            return error_from_response(
                response.status_code,
                response.content,
                response.headers,
                model=request.model or None,
                context_window=context_window(request.model),
            )
        return None

    def _wait_for_rate_limit(self) -> float:
        """Seconds to wait before the next HTTP request (0 without a rate limit)."""
        return self.rate_limiter.reserve() if self.rate_limiter is not None else 0.0

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        """The ``result`` of a successful answer; a 200 that says ``success: false`` raises."""
        try:
            body = response.json()
        except (ValueError, RecursionError) as exc:
            raise UnexpectedResponseError(
                f"Workers AI answered {response.status_code} with a body that is not JSON: "
                f"{response.text[:200]!r}"
            ) from exc
        if failure_in_envelope(body):
            raise error_from_response(400, response.content, response.headers)
        return unwrap_envelope(body)

    def _run_result(self, response: httpx.Response) -> Any:
        """``run``'s answer: bytes when the model answers with a file (images), else the
        ``result`` of the JSON envelope."""
        if _is_binary(response):
            return response.content
        return self._result(response)

    @staticmethod
    def _batched_embeddings(
        status: BatchStatus, sent: Sequence[Mapping[str, Any]]
    ) -> tuple[list[list[float]], Usage | None]:
        """Vectors of a finished embeddings batch (one item per request of texts), in order."""
        vectors: list[list[float]] = []
        for item in _batch.check_complete(status, len(sent)):
            if not item.success:
                raise _batch.item_error(status.model, item)
            found = parse_embeddings(item.result)
            expected = len(sent[item.index]["text"])
            if len(found) != expected:
                raise UnexpectedResponseError(
                    f"Workers AI returned {len(found)} embeddings for {expected} texts"
                )
            vectors.extend(found)
        return vectors, status.usage

    def _chat_result(self, request: _Request, response: httpx.Response) -> ChatResult:
        return parse_chat_result(
            self._result(response),
            model=request.model,
            cf_ray=response.headers.get("cf-ray"),
            json_mode=request.json_mode,
            stop=request.stop,
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
        try:
            body = response.json()
        except (ValueError, RecursionError) as exc:
            raise UnexpectedResponseError(
                f"The model catalog is not JSON: {response.text[:200]!r}"
            ) from exc
        items = unwrap_envelope(body)
        if not isinstance(items, list):
            raise UnexpectedResponseError(f"The model catalog is not a list: {preview(items)}")
        models = [parse_model_info(item) for item in items]
        info = body.get("result_info") if isinstance(body, Mapping) else None
        if isinstance(info, Mapping) and info.get("total_count") is not None:
            page = as_int(info.get("page")) or 1
            per_page = as_int(info.get("per_page")) or MODELS_PAGE_SIZE
            return models, page * per_page < as_int(info["total_count"])
        return models, len(items) >= MODELS_PAGE_SIZE

    def _batch_status(
        self, request: _Request, response: httpx.Response, request_id: str | None = None
    ) -> BatchStatus:
        return _batch.parse_status(self._result(response), request.model, request_id)

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
        embed_concurrency: int = DEFAULT_EMBED_CONCURRENCY,
        fallback_models: Sequence[str] = (),
        requests_per_minute: float | None = None,
        rate_limiter: RateLimiter | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
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
            embed_concurrency=embed_concurrency,
            fallback_models=fallback_models,
            requests_per_minute=requests_per_minute,
            rate_limiter=rate_limiter,
            gateway=gateway,
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
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        """One whole answer from a text-generation model (``result.model`` names the model
        that answered, which differs from ``model`` after a fallback)."""

        def attempt(candidate: str) -> ChatResult:
            request = self._chat_request(candidate, messages, prompt, False, options, gateway)
            return self._chat_result(request, self._send(request))

        return self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    def stream_chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        **options: Unpack[ChatOptions],
    ) -> Iterator[ChatChunk]:
        """Chunks as they arrive; the last one carries usage and finish_reason. A fallback
        happens only before the first chunk: output is never repeated."""

        def build(candidate: str) -> _Request:
            return self._chat_request(candidate, messages, prompt, True, options, gateway)

        chain = self._models_to_try(model, fallback_models)
        if len(chain) == 1:  # nothing to fall back to: one generator less per chunk
            return self._stream(build(model))
        return self._stream_with_fallback(chain, build(chain[0]), build)

    def embed(
        self,
        model: str,
        texts: str | Sequence[str],
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        batch_size: int | None = None,
        use_batch_api: bool = False,
        poll_interval: float = DEFAULT_BATCH_POLL_INTERVAL,
        timeout: float = DEFAULT_BATCH_TIMEOUT,
    ) -> EmbeddingResult:
        """Embeddings for ``texts``, in order, split into requests of ``batch_size`` texts
        (default and most: what the model takes per request), up to ``embed_concurrency`` of
        them in flight at once (on threads; 1 sends them one after another).

        ``use_batch_api`` queues the requests on Cloudflare's Batch API and polls for them
        (every ``poll_interval`` seconds, up to ``timeout``): for corpora too big to push.
        Batch requests go to the API directly, never through a gateway.
        """

        def attempt(candidate: str) -> EmbeddingResult:
            if use_batch_api and gateway is not None:
                raise InvalidRequestError(_BATCH_GATEWAY_MESSAGE)
            requests = self._embed_requests(candidate, texts, gateway, batch_size)
            if use_batch_api:
                bodies = [r.json for r in requests]
                batches = [
                    self._batched_embeddings(
                        self._await_batch(candidate, job, poll_interval, timeout), job
                    )
                    for job in _batch.split_jobs(bodies)
                ]
            else:
                batches = map_in_threads(
                    lambda r: self._embedding_batch(r, self._send(r)),
                    requests,
                    self.embed_concurrency,
                )
            return self._embedding_result(candidate, batches)

        return self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    def models(self, task: str | None = None, search: str | None = None) -> list[ModelInfo]:
        """Every model in the catalog (all pages), optionally filtered."""
        found: list[ModelInfo] = []
        page, more = 1, True
        while more:
            models, more = self._models_page(self._send(self._models_request(page, task, search)))
            found.extend(models)
            page += 1
        return found

    def run(
        self,
        model: str,
        inputs: Mapping[str, Any] | bytes,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> Any:
        """Any model, any task: send ``inputs`` (a dict as JSON, or bytes as the raw body for
        audio and image models) and return the ``result``, or the bytes of a file answer."""

        return self._run_built(model, lambda _: inputs, fallback_models, gateway)

    # -- task helpers: thin typed shapes over run --------------------------------------------------

    def generate_image(
        self,
        model: str,
        prompt: str,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> bytes:
        """The image (PNG bytes) a text-to-image model draws for ``prompt``; ``options`` are the
        model's own (``negative_prompt``, ``width``, ``height``, ``num_steps``, ``seed``...)."""
        payload = _tasks.image_payload(prompt, **options)
        return _tasks.image_bytes(
            self._run_built(model, lambda _: payload, fallback_models, gateway)
        )

    def transcribe(
        self,
        model: str,
        audio: bytes,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Transcription:
        """Speech to text (whisper models): the text, its words and segments with timings."""

        def payload(candidate: str) -> RunInputs:
            return _tasks.transcription_payload(candidate, audio, **options)

        return _tasks.parse_transcription(self._run_built(model, payload, fallback_models, gateway))

    def classify_text(
        self,
        model: str,
        text: str,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> list[Classification]:
        """Labels and scores from a text classifier (e.g. distilbert-sst-2-int8 sentiment)."""
        payload = _tasks.classification_payload(text)
        result = self._run_built(model, lambda _: payload, fallback_models, gateway)
        return _tasks.parse_classifications(result)

    def translate(
        self,
        model: str,
        text: str,
        target_lang: str,
        source_lang: str | None = None,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> str:
        """``text`` in ``target_lang`` (m2m100 language codes such as "fr")."""
        payload = _tasks.translation_payload(text, target_lang, source_lang)
        return _tasks.parse_translation(
            self._run_built(model, lambda _: payload, fallback_models, gateway)
        )

    def summarize(
        self,
        model: str,
        text: str,
        max_length: int | None = None,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> str:
        """A summary of ``text`` from a summarization model (``{input_text, max_length}`` in,
        ``{summary}`` out); ``max_length`` bounds it in tokens. Cloudflare retired the only one
        of its catalog, bart-large-cnn, on 2026-05-30: ``chat`` a model instead."""
        payload = _tasks.summary_payload(text, max_length)
        return _tasks.parse_summary(
            self._run_built(model, lambda _: payload, fallback_models, gateway)
        )

    def submit_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
    ) -> BatchStatus:
        """Queue ``requests`` (each the model's input) on the Batch API; returns at once."""
        request = self._batch_request(model, _batch.submit_body(requests))
        return self._batch_status(request, self._send(request))

    def get_batch(
        self,
        model: str,
        request_id: str,
    ) -> BatchStatus:
        """Where a queued batch stands; once done, its items in submission order."""
        request = self._batch_request(model, _batch.poll_body(request_id))
        return self._batch_status(request, self._send(request), request_id)

    def run_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
        *,
        poll_interval: float = DEFAULT_BATCH_POLL_INTERVAL,
        timeout: float = DEFAULT_BATCH_TIMEOUT,
    ) -> list[BatchItem]:
        """Submit, poll until done, and return one item per request in submission order.
        Raises BatchTimeoutError (with the request_id, to fetch later) after ``timeout``."""
        status = self._await_batch(model, requests, poll_interval, timeout)
        return _batch.check_complete(status, len(requests))

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

    # -- fallback and batches -----------------------------------------------------------------

    def _run_built(
        self,
        model: str,
        build: Callable[[str], RunInputs],
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> Any:
        """``run`` with inputs built per model (a fallback model may want another encoding)."""

        def attempt(candidate: str) -> Any:
            request = self._run_request(candidate, build(candidate), gateway)
            return self._run_result(self._send(request))

        return self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    def _with_fallback(self, chain: Sequence[str], attempt: Callable[[str], _T]) -> _T:
        for position, candidate in enumerate(chain):
            try:
                return attempt(candidate)
            except WorkersAIError as error:
                if not self._falls_back(error, candidate, _next_in(chain, position)):
                    raise
        raise AssertionError("a fallback chain is never empty")

    def _stream_with_fallback(
        self, chain: Sequence[str], request: _Request, build: Callable[[str], _Request]
    ) -> Iterator[ChatChunk]:
        position = 0
        while True:
            started = False
            try:
                for chunk in self._stream(request):
                    started = True
                    yield chunk
                return
            except WorkersAIError as error:
                following = _next_in(chain, position)
                if started or not self._falls_back(error, request.model, following):
                    raise
                assert following is not None
                position += 1
                request = build(following)

    def _await_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
        poll_interval: float,
        timeout: float,
    ) -> BatchStatus:
        delays = _batch.poll_delays(poll_interval)
        status = self.submit_batch(model, requests)
        deadline = time.monotonic() + timeout
        while not status.done:
            delay = next(delays)
            if time.monotonic() + delay > deadline:
                raise BatchTimeoutError(
                    _batch.batch_timeout_message(model, status.request_id, timeout),
                    request_id=status.request_id,
                )
            time.sleep(delay)
            status = self.get_batch(model, status.request_id)
        return status

    # -- sending ------------------------------------------------------------------------------

    @property
    def _http(self) -> httpx.Client:
        client = self._http_client
        if client is None:
            with self._http_lock:  # threads sharing this object share one pool
                if self._http_client is None:
                    # httpx's default limits (100 connections, 20 kept idle), on purpose: keeping
                    # more idle saves handshakes between bursts, but httpcore checks every pooled
                    # connection (a syscall each) on every request; at 64 requests in flight,
                    # 100 kept idle cost 3x the client CPU per request.
                    self._http_client = httpx.Client(
                        verify=shared_ssl_context(), headers=self._headers(), timeout=self._timeout
                    )
                client = self._http_client
        return client

    def _pace(self) -> None:
        wait = self._wait_for_rate_limit()
        if wait > 0:
            time.sleep(wait)

    def _send(self, request: _Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                self._pace()
                try:
                    response = self._http.request(
                        request.method, request.url, **self._httpx_kwargs(request, self._owns_http)
                    )
                except httpx.HTTPError as exc:
                    raise _transport_error(exc, request) from exc
                self._log(request, response)
                error = self._error_for(request, response)
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
                self._pace()
                try:
                    with self._http.stream(
                        request.method, request.url, **self._httpx_kwargs(request, self._owns_http)
                    ) as response:
                        self._log(request, response)
                        if response.status_code >= 400 or not _is_event_stream(response):
                            response.read()
                            error = self._error_for(request, response)
                            if error is not None:
                                raise error
                            yield chunk_from_result(self._chat_result(request, response))
                            return
                        parser = stream_parser(
                            request.model, response.headers.get("cf-ray"), request.stop
                        )
                        events = SSEDataDecoder()
                        body = response.iter_bytes()
                        for received in body:
                            for data in events.feed(received):
                                chunk = parser.feed(data)
                                if parser.done:
                                    # Before the last chunk, so that a consumer that stops at
                                    # it still gives the connection back to the pool.
                                    _drain(body)
                                if chunk is not None:
                                    started = True
                                    yield chunk
                                if parser.done:
                                    return
                        raise parser.incomplete_error()
                except httpx.HTTPError as exc:
                    if started:
                        _forget_credentials(exc)
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
        fallback_models: Sequence[str] = (),
        requests_per_minute: float | None = None,
        rate_limiter: RateLimiter | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
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
            embed_concurrency=embed_concurrency,
            fallback_models=fallback_models,
            requests_per_minute=requests_per_minute,
            rate_limiter=rate_limiter,
            gateway=gateway,
        )
        self._owns_http = http_client is None
        self._http_client = http_client  # ours is made on first use: construction stays cheap

    # -- public API ---------------------------------------------------------------------------

    async def chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        async def attempt(candidate: str) -> ChatResult:
            request = self._chat_request(candidate, messages, prompt, False, options, gateway)
            return self._chat_result(request, await self._send(request))

        return await self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    def stream_chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        **options: Unpack[ChatOptions],
    ) -> AsyncIterator[ChatChunk]:
        """``async for chunk in client.stream_chat(...)``; input is checked at the call."""

        def build(candidate: str) -> _Request:
            return self._chat_request(candidate, messages, prompt, True, options, gateway)

        chain = self._models_to_try(model, fallback_models)
        if len(chain) == 1:  # nothing to fall back to: one generator less per chunk
            return self._stream(build(model))
        return self._stream_with_fallback(chain, build(chain[0]), build)

    async def embed(
        self,
        model: str,
        texts: str | Sequence[str],
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        batch_size: int | None = None,
        use_batch_api: bool = False,
        poll_interval: float = DEFAULT_BATCH_POLL_INTERVAL,
        timeout: float = DEFAULT_BATCH_TIMEOUT,
    ) -> EmbeddingResult:
        """Like :meth:`WorkersAI.embed`; batches go out concurrently (``embed_concurrency``)."""

        async def attempt(candidate: str) -> EmbeddingResult:
            if use_batch_api and gateway is not None:
                raise InvalidRequestError(_BATCH_GATEWAY_MESSAGE)
            requests = self._embed_requests(candidate, texts, gateway, batch_size)
            gate = asyncio.Semaphore(self.embed_concurrency)

            async def one(request: _Request) -> tuple[list[list[float]], Usage | None]:
                async with gate:
                    return self._embedding_batch(request, await self._send(request))

            async def job(
                bodies: list[Mapping[str, Any]],
            ) -> tuple[list[list[float]], Usage | None]:
                async with gate:
                    status = await self._await_batch(candidate, bodies, poll_interval, timeout)
                return self._batched_embeddings(status, bodies)

            if use_batch_api:
                jobs = _batch.split_jobs([r.json for r in requests])
                batches = await asyncio.gather(*(job(bodies) for bodies in jobs))
            else:
                batches = await asyncio.gather(*(one(r) for r in requests))
            return self._embedding_result(candidate, list(batches))

        return await self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    async def models(self, task: str | None = None, search: str | None = None) -> list[ModelInfo]:
        found: list[ModelInfo] = []
        page, more = 1, True
        while more:
            response = await self._send(self._models_request(page, task, search))
            models, more = self._models_page(response)
            found.extend(models)
            page += 1
        return found

    async def run(
        self,
        model: str,
        inputs: Mapping[str, Any] | bytes,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> Any:
        return await self._run_built(model, lambda _: inputs, fallback_models, gateway)

    # -- task helpers: thin typed shapes over run --------------------------------------------------

    async def generate_image(
        self,
        model: str,
        prompt: str,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> bytes:
        payload = _tasks.image_payload(prompt, **options)
        result = await self._run_built(model, lambda _: payload, fallback_models, gateway)
        return _tasks.image_bytes(result)

    async def transcribe(
        self,
        model: str,
        audio: bytes,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Transcription:
        def payload(candidate: str) -> RunInputs:
            return _tasks.transcription_payload(candidate, audio, **options)

        return _tasks.parse_transcription(
            await self._run_built(model, payload, fallback_models, gateway)
        )

    async def classify_text(
        self,
        model: str,
        text: str,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> list[Classification]:
        payload = _tasks.classification_payload(text)
        result = await self._run_built(model, lambda _: payload, fallback_models, gateway)
        return _tasks.parse_classifications(result)

    async def translate(
        self,
        model: str,
        text: str,
        target_lang: str,
        source_lang: str | None = None,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> str:
        payload = _tasks.translation_payload(text, target_lang, source_lang)
        result = await self._run_built(model, lambda _: payload, fallback_models, gateway)
        return _tasks.parse_translation(result)

    async def summarize(
        self,
        model: str,
        text: str,
        max_length: int | None = None,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> str:
        payload = _tasks.summary_payload(text, max_length)
        result = await self._run_built(model, lambda _: payload, fallback_models, gateway)
        return _tasks.parse_summary(result)

    async def submit_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
    ) -> BatchStatus:
        request = self._batch_request(model, _batch.submit_body(requests))
        return self._batch_status(request, await self._send(request))

    async def get_batch(
        self,
        model: str,
        request_id: str,
    ) -> BatchStatus:
        request = self._batch_request(model, _batch.poll_body(request_id))
        return self._batch_status(request, await self._send(request), request_id)

    async def run_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
        *,
        poll_interval: float = DEFAULT_BATCH_POLL_INTERVAL,
        timeout: float = DEFAULT_BATCH_TIMEOUT,
    ) -> list[BatchItem]:
        status = await self._await_batch(model, requests, poll_interval, timeout)
        return _batch.check_complete(status, len(requests))

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

    # -- fallback and batches -----------------------------------------------------------------

    async def _run_built(
        self,
        model: str,
        build: Callable[[str], RunInputs],
        fallback_models: Sequence[str] | None = None,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> Any:
        async def attempt(candidate: str) -> Any:
            request = self._run_request(candidate, build(candidate), gateway)
            return self._run_result(await self._send(request))

        return await self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    async def _with_fallback(
        self, chain: Sequence[str], attempt: Callable[[str], Awaitable[_T]]
    ) -> _T:
        for position, candidate in enumerate(chain):
            try:
                return await attempt(candidate)
            except WorkersAIError as error:
                if not self._falls_back(error, candidate, _next_in(chain, position)):
                    raise
        raise AssertionError("a fallback chain is never empty")

    async def _stream_with_fallback(
        self, chain: Sequence[str], request: _Request, build: Callable[[str], _Request]
    ) -> AsyncIterator[ChatChunk]:
        position = 0
        while True:
            started = False
            try:
                async for chunk in self._stream(request):
                    started = True
                    yield chunk
                return
            except WorkersAIError as error:
                following = _next_in(chain, position)
                if started or not self._falls_back(error, request.model, following):
                    raise
                assert following is not None
                position += 1
                request = build(following)

    async def _await_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
        poll_interval: float,
        timeout: float,
    ) -> BatchStatus:
        delays = _batch.poll_delays(poll_interval)
        status = await self.submit_batch(model, requests)
        deadline = time.monotonic() + timeout
        while not status.done:
            delay = next(delays)
            if time.monotonic() + delay > deadline:
                raise BatchTimeoutError(
                    _batch.batch_timeout_message(model, status.request_id, timeout),
                    request_id=status.request_id,
                )
            await asyncio.sleep(delay)
            status = await self.get_batch(model, status.request_id)
        return status

    # -- sending ------------------------------------------------------------------------------

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._http_client is None:  # httpx's default limits, as the sync client's
            self._http_client = httpx.AsyncClient(
                verify=shared_ssl_context(), headers=self._headers(), timeout=self._timeout
            )
        return self._http_client

    async def _pace(self) -> None:
        wait = self._wait_for_rate_limit()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _send(self, request: _Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                await self._pace()
                try:
                    response = await self._http.request(
                        request.method, request.url, **self._httpx_kwargs(request, self._owns_http)
                    )
                except httpx.HTTPError as exc:
                    raise _transport_error(exc, request) from exc
                self._log(request, response)
                error = self._error_for(request, response)
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
                await self._pace()
                try:
                    async with self._http.stream(
                        request.method, request.url, **self._httpx_kwargs(request, self._owns_http)
                    ) as response:
                        self._log(request, response)
                        if response.status_code >= 400 or not _is_event_stream(response):
                            await response.aread()
                            error = self._error_for(request, response)
                            if error is not None:
                                raise error
                            yield chunk_from_result(self._chat_result(request, response))
                            return
                        parser = stream_parser(
                            request.model, response.headers.get("cf-ray"), request.stop
                        )
                        events = SSEDataDecoder()
                        body = response.aiter_bytes()
                        async for received in body:
                            for data in events.feed(received):
                                chunk = parser.feed(data)
                                if parser.done:
                                    await _adrain(body)  # before the last chunk, as above
                                if chunk is not None:
                                    started = True
                                    yield chunk
                                if parser.done:
                                    return
                        raise parser.incomplete_error()
                except httpx.HTTPError as exc:
                    if started:
                        _forget_credentials(exc)
                        raise StreamError(f"The stream broke mid-way: {exc!r}") from exc
                    raise _transport_error(exc, request) from exc
            except WorkersAIError as error:
                delay = None if started else self._retry_delay(attempt, error, request)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1


__all__ = ["AsyncWorkersAI", "WorkersAI"]
