"""The core's operations, written once: how a client builds requests, reads answers, retries,
falls back across models, pages, polls and fans out, as plans of steps (``_plan``) that
:class:`~workers_ai.WorkersAI` and :class:`~workers_ai.AsyncWorkersAI` drive. No I/O here.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from . import _batch, _tasks
from ._catalog import catalog, checked_model, context_window
from ._chat_options import ChatOptions
from ._config import GATEWAY_TOKEN_ENV, ClientConfig, first_env
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
from ._plan import DRAIN, READ, READ_REST, Emit, Gather, Open, Pause, Plan, Send, WireRequest
from ._ratelimit import RateLimiter
from ._request import (
    build_chat_body,
    check_run_payload,
    client_side_stop,
    embedding_batches,
)
from ._retry import RetryPolicy, warrants_fallback
from ._sse import SSEDataDecoder
from ._tasks import Classification, Transcription
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
    ChatResult,
    EmbeddingResult,
    Message,
    ModelInfo,
    Usage,
)

logger = logging.getLogger("workers_ai")


@functools.cache
def user_agent() -> str:
    """Our User-Agent; looked up on the first request, not at import: importlib.metadata is
    slow to import (bench/RESULTS.md)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("workers-ai")
    except PackageNotFoundError:  # running from a source tree
        installed = "0"
    return f"workers-ai/{installed}"


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
_EmbeddedBatch = tuple[list[list[float]], Usage | None]
"""The vectors of one request of texts, and its usage."""


def _forget_credentials(exc: httpx.HTTPError) -> None:
    """An httpx error keeps its request, whose headers hold the token (httpx masks it only in
    repr): our error chains the httpx one, so anything walking the chain could read it."""
    kept = getattr(exc, "_request", None)
    if isinstance(kept, httpx.Request):
        for name in ("authorization", GATEWAY_AUTH_HEADER):
            kept.headers.pop(name, None)


def _transport_error(exc: httpx.HTTPError, request: WireRequest) -> WorkersAIError:
    _forget_credentials(exc)
    where = f"{request.method} {request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Workers AI did not answer in time ({where}): {exc!r}")
    return APIConnectionError(f"Could not reach Workers AI ({where}): {exc!r}")


def _is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


def _is_binary(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith(_BINARY_TYPES)


def _model_names(names: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise InvalidRequestError(f"{what} must be a list of model names, got {names!r:.200}")
    return tuple(names)


def _next_in(chain: Sequence[str], position: int) -> str | None:
    return chain[position + 1] if position + 1 < len(chain) else None


class Operations:
    """A client's state, how it builds requests and reads answers, and its operations as
    plans (see ``_plan``): everything of :class:`WorkersAI` and :class:`AsyncWorkersAI` but
    the I/O."""

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
    ) -> WireRequest:
        model = checked_model(model)
        body = build_chat_body(model, messages, prompt, stream=stream, options=options)
        return WireRequest(
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
    ) -> list[WireRequest]:
        model = checked_model(model)
        url = self._run_url(model)
        headers = self._run_headers(gateway)
        return [
            WireRequest("POST", url, json={"text": batch}, headers=headers, model=model)
            for batch in embedding_batches(model, texts, batch_size)
        ]

    def _run_request(
        self,
        model: str,
        inputs: Mapping[str, Any] | bytes,
        gateway: GatewayOptions | Mapping[str, Any] | None = None,
    ) -> WireRequest:
        model = checked_model(model)
        headers = self._run_headers(gateway)
        if isinstance(inputs, (bytes, bytearray, memoryview)):
            # Binary input (audio, images): the body is the bytes themselves.
            raw = bytes(inputs)
            if not raw:
                raise InvalidRequestError("inputs is empty: pass the audio or image bytes")
            binary = {**(headers or {}), "Content-Type": "application/octet-stream"}
            return WireRequest(
                "POST", self._run_url(model), content=raw, headers=binary, model=model
            )
        check_run_payload(model, inputs)
        return WireRequest(
            "POST", self._run_url(model), json=dict(inputs), headers=headers, model=model
        )

    def _batch_request(self, model: str, body: dict[str, Any]) -> WireRequest:
        # Straight to the API, gateway or not: Cloudflare documents the Batch API there.
        model = checked_model(model)
        url = self._config.api_run_url(model)
        return WireRequest("POST", url, json=body, params=dict(_batch.QUEUE_PARAMS), model=model)

    def _models_request(self, page: int, task: str | None, search: str | None) -> WireRequest:
        params: dict[str, Any] = {"page": page, "per_page": MODELS_PAGE_SIZE}
        if task:
            params["task"] = task
        if search:
            params["search"] = search
        return WireRequest("GET", self._config.account_url("ai/models/search"), params=params)

    def _httpx_kwargs(self, request: WireRequest, pooled: bool) -> dict[str, Any]:
        """httpx's arguments for ``request``; ``pooled``: the httpx client is ours and already
        carries the auth headers and timeout already."""
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
    def _log(request: WireRequest, response: httpx.Response) -> None:
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
    def _error_for(request: WireRequest, response: httpx.Response) -> WorkersAIError | None:
        """The error an already-read answer stands for, or None when it is a success."""
        if response.status_code >= 400:
            return error_from_response(
                response.status_code,
                response.content,
                response.headers,
                model=request.model or None,
                context_window=context_window(request.model),
                facts=catalog() if request.model else None,
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

    def _chat_result(self, request: WireRequest, response: httpx.Response) -> ChatResult:
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
        self, request: WireRequest, response: httpx.Response
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
        self, request: WireRequest, response: httpx.Response, request_id: str | None = None
    ) -> BatchStatus:
        return _batch.parse_status(self._result(response), request.model, request_id)

    def _retry_delay(
        self, attempt: int, error: WorkersAIError, request: WireRequest
    ) -> float | None:
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

    # -- the operations, as plans ------------------------------------------------------------
    # Each public method of the clients drives one of these; see ``_plan`` for the steps.

    def plan_chat(
        self,
        model: str,
        messages: Sequence[Message] | None,
        prompt: str | None,
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
        options: ChatOptions,
    ) -> Plan[ChatResult]:
        def attempt(candidate: str) -> Plan[ChatResult]:
            request = self._chat_request(candidate, messages, prompt, False, options, gateway)
            return self._chat_result(request, (yield from self._exchange(request)))

        return self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    def plan_stream_chat(
        self,
        model: str,
        messages: Sequence[Message] | None,
        prompt: str | None,
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
        options: ChatOptions,
    ) -> Plan[None]:
        """Chunks as :class:`Emit` steps. The first request is built here, so bad input raises
        at the call, before anything is iterated; a fallback happens only before the first
        chunk: output is never repeated."""
        chain = self._models_to_try(model, fallback_models)
        first = self._chat_request(chain[0], messages, prompt, True, options, gateway)
        progress = _Progress()

        def attempt(candidate: str) -> Plan[None]:
            request = (
                first
                if candidate == chain[0]
                else self._chat_request(candidate, messages, prompt, True, options, gateway)
            )
            return self._stream_exchange(request, progress)

        return self._with_fallback(chain, attempt, progress)

    def plan_embed(
        self,
        model: str,
        texts: str | Sequence[str],
        *,
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
        batch_size: int | None,
        use_batch_api: bool,
        poll_interval: float,
        timeout: float,
        concurrency: int | None,
        on_batch: Callable[[int], object] | None,
    ) -> Plan[EmbeddingResult]:
        """Requests of at most ``batch_size`` texts, ``concurrency`` of them in flight (the
        client's ``embed_concurrency`` by default), on the model directly or as Batch-API jobs;
        ``on_batch(n)`` as each request's ``n`` texts are embedded."""
        if use_batch_api and gateway is not None:
            raise InvalidRequestError(_BATCH_GATEWAY_MESSAGE)
        limit = self.embed_concurrency if concurrency is None else concurrency
        if limit < 1:
            raise InvalidRequestError(f"concurrency must be >= 1, got {limit}")
        on_done = None if on_batch is None else lambda batch: on_batch(len(batch[0]))

        def attempt(candidate: str) -> Plan[EmbeddingResult]:
            requests = self._embed_requests(candidate, texts, gateway, batch_size)
            plans: list[Plan[_EmbeddedBatch]]
            if use_batch_api:
                jobs = _batch.split_jobs([r.json for r in requests])
                plans = [
                    self._embedding_job(candidate, job, poll_interval, timeout) for job in jobs
                ]
            else:
                plans = [self._embedding_request(r) for r in requests]
            batches = yield Gather(plans, limit, on_done)
            return self._embedding_result(candidate, batches)

        return self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    def plan_models(self, task: str | None, search: str | None) -> Plan[list[ModelInfo]]:
        found: list[ModelInfo] = []
        page, more = 1, True
        while more:
            response = yield from self._exchange(self._models_request(page, task, search))
            models, more = self._models_page(response)
            found.extend(models)
            page += 1
        return found

    def plan_run(
        self,
        model: str,
        inputs: Callable[[str], RunInputs],
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
    ) -> Plan[Any]:
        """``run`` with ``inputs(model)`` built per model (a fallback model may want another
        encoding): the ``result``, or the bytes of a file answer."""

        def attempt(candidate: str) -> Plan[Any]:
            request = self._run_request(candidate, inputs(candidate), gateway)
            return self._run_result((yield from self._exchange(request)))

        return self._with_fallback(self._models_to_try(model, fallback_models), attempt)

    def plan_generate_image(
        self,
        model: str,
        prompt: str,
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
        options: Mapping[str, Any],
    ) -> Plan[bytes]:
        payload = _tasks.image_payload(prompt, **options)
        return self._task(model, lambda _: payload, _tasks.image_bytes, fallback_models, gateway)

    def plan_transcribe(
        self,
        model: str,
        audio: bytes,
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
        options: Mapping[str, Any],
    ) -> Plan[Transcription]:
        def payload(candidate: str) -> RunInputs:  # whisper models differ in how audio goes
            return _tasks.transcription_payload(candidate, audio, **options)

        return self._task(model, payload, _tasks.parse_transcription, fallback_models, gateway)

    def plan_classify_text(
        self,
        model: str,
        text: str,
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
    ) -> Plan[list[Classification]]:
        payload = _tasks.classification_payload(text)
        return self._task(
            model, lambda _: payload, _tasks.parse_classifications, fallback_models, gateway
        )

    def plan_translate(
        self,
        model: str,
        text: str,
        target_lang: str,
        source_lang: str | None,
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
    ) -> Plan[str]:
        payload = _tasks.translation_payload(text, target_lang, source_lang)
        return self._task(
            model, lambda _: payload, _tasks.parse_translation, fallback_models, gateway
        )

    def plan_summarize(
        self,
        model: str,
        text: str,
        max_length: int | None,
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
    ) -> Plan[str]:
        payload = _tasks.summary_payload(text, max_length)
        return self._task(model, lambda _: payload, _tasks.parse_summary, fallback_models, gateway)

    def plan_submit_batch(
        self, model: str, requests: Sequence[Mapping[str, Any]]
    ) -> Plan[BatchStatus]:
        request = self._batch_request(model, _batch.submit_body(requests))
        return self._batch_status(request, (yield from self._exchange(request)))

    def plan_get_batch(self, model: str, request_id: str) -> Plan[BatchStatus]:
        request = self._batch_request(model, _batch.poll_body(request_id))
        return self._batch_status(request, (yield from self._exchange(request)), request_id)

    def plan_run_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
        poll_interval: float,
        timeout: float,
    ) -> Plan[list[BatchItem]]:
        status = yield from self._await_batch(model, requests, poll_interval, timeout)
        return _batch.check_complete(status, len(requests))

    # -- the parts plans are made of -----------------------------------------------------------

    def _task(
        self,
        model: str,
        inputs: Callable[[str], RunInputs],
        read: Callable[[Any], _T],
        fallback_models: Sequence[str] | None,
        gateway: GatewayOptions | Mapping[str, Any] | None,
    ) -> Plan[_T]:
        """A typed task helper: ``run``, then ``read`` its result into the task's shape."""
        return read((yield from self.plan_run(model, inputs, fallback_models, gateway)))

    def _exchange(self, request: WireRequest) -> Plan[httpx.Response]:
        """One request with its retries: the successful answer, or the error that ended it."""
        attempt = 0
        while True:
            try:
                wait = self._wait_for_rate_limit()
                if wait > 0:
                    yield Pause(wait)
                try:
                    response: httpx.Response = yield Send(request)
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
                yield Pause(delay)
                attempt += 1

    def _stream_exchange(self, request: WireRequest, progress: _Progress) -> Plan[None]:
        """One streamed request with its retries, which stop once a chunk was emitted. An
        answer that is not an event stream (JSON mode, an error) comes out as one chunk."""
        attempt = 0
        while True:
            try:
                wait = self._wait_for_rate_limit()
                if wait > 0:
                    yield Pause(wait)
                try:
                    response: httpx.Response = yield Open(request)
                    self._log(request, response)
                    if response.status_code >= 400 or not _is_event_stream(response):
                        yield READ_REST
                        error = self._error_for(request, response)
                        if error is not None:
                            raise error
                        progress.started = True
                        yield Emit((chunk_from_result(self._chat_result(request, response)),))
                        return
                    parser = stream_parser(
                        request.model, response.headers.get("cf-ray"), request.stop
                    )
                    events = SSEDataDecoder()
                    while (received := (yield READ)) is not None:
                        chunks = []
                        for data in events.feed(received):
                            chunk = parser.feed(data)
                            if chunk is not None:
                                chunks.append(chunk)
                            if parser.done:
                                break
                        if parser.done:
                            # Before the last chunks, so that a consumer that stops at them
                            # still gives the connection back to the pool.
                            yield DRAIN
                        if chunks:
                            progress.started = True
                            yield Emit(tuple(chunks))
                        if parser.done:
                            return
                    raise parser.incomplete_error()
                except httpx.HTTPError as exc:
                    if progress.started:
                        _forget_credentials(exc)
                        raise StreamError(f"The stream broke mid-way: {exc!r}") from exc
                    raise _transport_error(exc, request) from exc
            except WorkersAIError as error:
                delay = None if progress.started else self._retry_delay(attempt, error, request)
                if delay is None:
                    raise
                yield Pause(delay)
                attempt += 1

    def _with_fallback(
        self,
        chain: Sequence[str],
        attempt: Callable[[str], Plan[_T]],
        progress: _Progress | None = None,
    ) -> Plan[_T]:
        """``attempt`` on each model of ``chain`` in turn, while the error warrants it (and,
        for a stream, before its first chunk)."""
        if len(chain) == 1:
            return attempt(chain[0])
        return self._fall_back(chain, attempt, progress)

    def _fall_back(
        self,
        chain: Sequence[str],
        attempt: Callable[[str], Plan[_T]],
        progress: _Progress | None,
    ) -> Plan[_T]:
        for position, candidate in enumerate(chain):
            try:
                return (yield from attempt(candidate))
            except WorkersAIError as error:
                started = progress is not None and progress.started
                if started or not self._falls_back(error, candidate, _next_in(chain, position)):
                    raise
        raise AssertionError("a fallback chain is never empty")

    def _embedding_request(self, request: WireRequest) -> Plan[_EmbeddedBatch]:
        return self._embedding_batch(request, (yield from self._exchange(request)))

    def _embedding_job(
        self,
        model: str,
        bodies: Sequence[Mapping[str, Any]],
        poll_interval: float,
        timeout: float,
    ) -> Plan[_EmbeddedBatch]:
        status = yield from self._await_batch(model, bodies, poll_interval, timeout)
        return self._batched_embeddings(status, bodies)

    def _await_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
        poll_interval: float,
        timeout: float,
    ) -> Plan[BatchStatus]:
        delays = _batch.poll_delays(poll_interval)
        status = yield from self.plan_submit_batch(model, requests)
        deadline = time.monotonic() + timeout
        while not status.done:
            delay = next(delays)
            if time.monotonic() + delay > deadline:
                raise BatchTimeoutError(
                    _batch.batch_timeout_message(model, status.request_id, timeout),
                    request_id=status.request_id,
                )
            yield Pause(delay)
            status = yield from self.plan_get_batch(model, status.request_id)
        return status


class _Progress:
    """Whether a stream has emitted a chunk: after that, it is neither retried nor replaced."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False


__all__ = ["DEFAULT_BATCH_POLL_INTERVAL", "DEFAULT_BATCH_TIMEOUT", "Operations", "user_agent"]
