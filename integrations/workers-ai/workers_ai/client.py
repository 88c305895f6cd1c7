"""``WorkersAI`` and ``AsyncWorkersAI``: the two drivers of the core's operations.

Every operation is written once, without I/O, in ``_operations`` (a plan of the steps in
``_plan``); each public method here hands its plan to the driver. The sync client performs
the steps with blocking calls and threads, the async one with ``await``: they differ only in
how they send, sleep, read a stream and run requests side by side.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr
from typing_extensions import Self, Unpack

from ._chat_options import ChatOptions
from ._config import DEFAULT_EMBED_CONCURRENCY
from ._gateway import GatewayOptions
from ._operations import DEFAULT_BATCH_POLL_INTERVAL, DEFAULT_BATCH_TIMEOUT, Operations
from ._plan import (
    DRAIN,
    READ,
    READ_REST,
    Emit,
    Gather,
    Open,
    Pause,
    Plan,
    Send,
    WireRequest,
    unexpected,
)
from ._ratelimit import RateLimiter
from ._tasks import Classification, Transcription
from ._threads import map_in_threads
from .types import (
    BatchItem,
    BatchStatus,
    ChatChunk,
    ChatResult,
    EmbeddingResult,
    Message,
    ModelInfo,
)

_T = TypeVar("_T")
Gateway = GatewayOptions | Mapping[str, Any] | None

# After [DONE] a stream has nothing left to send but the end of its chunked body.
_MAX_BYTES_AFTER_DONE = 64 * 1024


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA bundle is most of what creating an
    httpx client costs, and the context is safe to share."""
    return httpx.create_ssl_context()


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


class WorkersAI(Operations):
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
        gateway: Gateway = None,
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
        gateway: Gateway = None,
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        """One whole answer from a text-generation model (``result.model`` names the model
        that answered, which differs from ``model`` after a fallback)."""
        return self._drive(
            self.plan_chat(model, messages, prompt, fallback_models, gateway, options)
        )

    def stream_chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        **options: Unpack[ChatOptions],
    ) -> Iterator[ChatChunk]:
        """Chunks as they arrive; the last one carries usage and finish_reason. Input is
        checked at the call. A fallback happens only before the first chunk: output is never
        repeated. With ``response_format`` the answer comes whole, as one chunk."""
        return self._stream(
            self.plan_stream_chat(model, messages, prompt, fallback_models, gateway, options)
        )

    def embed(
        self,
        model: str,
        texts: str | Sequence[str],
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        on_batch: Callable[[int], object] | None = None,
        use_batch_api: bool = False,
        poll_interval: float = DEFAULT_BATCH_POLL_INTERVAL,
        timeout: float = DEFAULT_BATCH_TIMEOUT,
    ) -> EmbeddingResult:
        """Embeddings for ``texts``, in order, split into requests of ``batch_size`` texts
        (default and most: what the model takes per request), up to ``concurrency`` of them
        in flight at once (default ``embed_concurrency``; on threads; 1 sends them one after
        another). ``on_batch(n)`` runs, in the calling thread, as each request's ``n`` texts
        are embedded (a progress bar).

        ``use_batch_api`` queues the requests on Cloudflare's Batch API as jobs (as many as
        its size limit needs, ``concurrency`` of them at once) and polls for them (every
        ``poll_interval`` seconds, up to ``timeout``): for corpora too big to push. Batch
        requests go to the API directly, never through a gateway.
        """
        return self._drive(
            self.plan_embed(
                model,
                texts,
                fallback_models=fallback_models,
                gateway=gateway,
                batch_size=batch_size,
                use_batch_api=use_batch_api,
                poll_interval=poll_interval,
                timeout=timeout,
                concurrency=concurrency,
                on_batch=on_batch,
            )
        )

    def models(self, task: str | None = None, search: str | None = None) -> list[ModelInfo]:
        """Every model in the catalog (all pages), optionally filtered."""
        return self._drive(self.plan_models(task, search))

    def run(
        self,
        model: str,
        inputs: Mapping[str, Any] | bytes,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
    ) -> Any:
        """Any model, any task: send ``inputs`` (a dict as JSON, or bytes as the raw body for
        audio and image models) and return the ``result``, or the bytes of a file answer."""
        return self._drive(self.plan_run(model, lambda _: inputs, fallback_models, gateway))

    # -- task helpers: thin typed shapes over run --------------------------------------------------

    def generate_image(
        self,
        model: str,
        prompt: str,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        **options: Any,
    ) -> bytes:
        """The image (PNG bytes) a text-to-image model draws for ``prompt``; ``options`` are the
        model's own (``negative_prompt``, ``width``, ``height``, ``num_steps``, ``seed``...)."""
        return self._drive(
            self.plan_generate_image(model, prompt, fallback_models, gateway, options)
        )

    def transcribe(
        self,
        model: str,
        audio: bytes,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        **options: Any,
    ) -> Transcription:
        """Speech to text (whisper models): the text, its words and segments with timings."""
        return self._drive(self.plan_transcribe(model, audio, fallback_models, gateway, options))

    def classify_text(
        self,
        model: str,
        text: str,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
    ) -> list[Classification]:
        """Labels and scores from a text classifier (e.g. distilbert-sst-2-int8 sentiment)."""
        return self._drive(self.plan_classify_text(model, text, fallback_models, gateway))

    def translate(
        self,
        model: str,
        text: str,
        target_lang: str,
        source_lang: str | None = None,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
    ) -> str:
        """``text`` in ``target_lang`` (m2m100 language codes such as "fr")."""
        return self._drive(
            self.plan_translate(model, text, target_lang, source_lang, fallback_models, gateway)
        )

    def summarize(
        self,
        model: str,
        text: str,
        max_length: int | None = None,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
    ) -> str:
        """A summary of ``text`` from a summarization model (``{input_text, max_length}`` in,
        ``{summary}`` out); ``max_length`` bounds it in tokens. Cloudflare retired the only one
        of its catalog, bart-large-cnn, on 2026-05-30: ``chat`` a model instead."""
        return self._drive(self.plan_summarize(model, text, max_length, fallback_models, gateway))

    def submit_batch(self, model: str, requests: Sequence[Mapping[str, Any]]) -> BatchStatus:
        """Queue ``requests`` (each the model's input) on the Batch API; returns at once."""
        return self._drive(self.plan_submit_batch(model, requests))

    def get_batch(self, model: str, request_id: str) -> BatchStatus:
        """Where a queued batch stands; once done, its items in submission order."""
        return self._drive(self.plan_get_batch(model, request_id))

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
        return self._drive(self.plan_run_batch(model, requests, poll_interval, timeout))

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

    # -- the driver: the only I/O ---------------------------------------------------------------

    @property
    def _http(self) -> httpx.Client:
        client = self._http_client
        if client is None:
            with self._http_lock:  # threads sharing this object share one pool
                if self._http_client is None:
                    # httpx's default limits (100 connections, 20 kept idle), on purpose: more
                    # kept idle saves handshakes between bursts, but httpcore checks every pooled
                    # connection on every request (bench/RESULTS.md has what that costs).
                    self._http_client = httpx.Client(
                        verify=shared_ssl_context(), headers=self._headers(), timeout=self._timeout
                    )
                client = self._http_client
        return client

    def _request(self, request: WireRequest) -> httpx.Request:
        return self._http.build_request(
            request.method, request.url, **self._httpx_kwargs(request, self._owns_http)
        )

    def _drive(self, plan: Plan[_T]) -> _T:
        """Run ``plan`` to its result: send, sleep, fan out on threads."""
        reply: Any = None
        failure: Exception | None = None
        while True:
            try:
                step = plan.send(reply) if failure is None else plan.throw(failure)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            reply, failure = None, None
            try:
                if type(step) is Send:
                    reply = self._http.send(self._request(step.request))
                elif type(step) is Pause:
                    time.sleep(step.seconds)
                elif type(step) is Gather:
                    reply = map_in_threads(self._drive, step.plans, step.limit, step.on_done)
                else:
                    raise unexpected(step)
            except Exception as exc:  # the plan's to handle: thrown back into it
                failure = exc

    def _stream(self, plan: Plan[None]) -> Iterator[ChatChunk]:
        """Run a streaming ``plan``, yielding the chunks it emits; the response it opened is
        closed when the plan ends, fails, or the consumer stops iterating."""
        response: httpx.Response | None = None
        body: Iterator[bytes] = iter(())
        reply: Any = None
        failure: Exception | None = None
        try:
            while True:
                try:
                    step = plan.send(reply) if failure is None else plan.throw(failure)
                except StopIteration:
                    return
                reply, failure = None, None
                if type(step) is Emit:
                    yield from step.chunks
                    continue
                try:
                    if step is READ:
                        reply = next(body, None)
                    elif type(step) is Open:
                        if response is not None:
                            response.close()
                        response = self._http.send(self._request(step.request), stream=True)
                        body = response.iter_bytes()
                        reply = response
                    elif step is READ_REST and response is not None:
                        response.read()
                    elif step is DRAIN:
                        _drain(body)
                    elif type(step) is Pause:
                        time.sleep(step.seconds)
                    else:
                        raise unexpected(step)
                except Exception as exc:  # the plan's to handle: thrown back into it
                    failure = exc
        finally:
            plan.close()
            if response is not None:
                response.close()


class AsyncWorkersAI(Operations):
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
        gateway: Gateway = None,
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

    # -- public API: WorkersAI's, awaited --------------------------------------------------------

    async def chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        return await self._drive(
            self.plan_chat(model, messages, prompt, fallback_models, gateway, options)
        )

    def stream_chat(
        self,
        model: str,
        messages: Sequence[Message] | None = None,
        *,
        prompt: str | None = None,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        **options: Unpack[ChatOptions],
    ) -> AsyncIterator[ChatChunk]:
        """``async for chunk in client.stream_chat(...)``; input is checked at the call."""
        return self._stream(
            self.plan_stream_chat(model, messages, prompt, fallback_models, gateway, options)
        )

    async def embed(
        self,
        model: str,
        texts: str | Sequence[str],
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        on_batch: Callable[[int], object] | None = None,
        use_batch_api: bool = False,
        poll_interval: float = DEFAULT_BATCH_POLL_INTERVAL,
        timeout: float = DEFAULT_BATCH_TIMEOUT,
    ) -> EmbeddingResult:
        """Like :meth:`WorkersAI.embed`, the requests in flight together on the event loop."""
        return await self._drive(
            self.plan_embed(
                model,
                texts,
                fallback_models=fallback_models,
                gateway=gateway,
                batch_size=batch_size,
                use_batch_api=use_batch_api,
                poll_interval=poll_interval,
                timeout=timeout,
                concurrency=concurrency,
                on_batch=on_batch,
            )
        )

    async def models(self, task: str | None = None, search: str | None = None) -> list[ModelInfo]:
        return await self._drive(self.plan_models(task, search))

    async def run(
        self,
        model: str,
        inputs: Mapping[str, Any] | bytes,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
    ) -> Any:
        return await self._drive(self.plan_run(model, lambda _: inputs, fallback_models, gateway))

    # -- task helpers: thin typed shapes over run --------------------------------------------------

    async def generate_image(
        self,
        model: str,
        prompt: str,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        **options: Any,
    ) -> bytes:
        return await self._drive(
            self.plan_generate_image(model, prompt, fallback_models, gateway, options)
        )

    async def transcribe(
        self,
        model: str,
        audio: bytes,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
        **options: Any,
    ) -> Transcription:
        return await self._drive(
            self.plan_transcribe(model, audio, fallback_models, gateway, options)
        )

    async def classify_text(
        self,
        model: str,
        text: str,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
    ) -> list[Classification]:
        return await self._drive(self.plan_classify_text(model, text, fallback_models, gateway))

    async def translate(
        self,
        model: str,
        text: str,
        target_lang: str,
        source_lang: str | None = None,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
    ) -> str:
        return await self._drive(
            self.plan_translate(model, text, target_lang, source_lang, fallback_models, gateway)
        )

    async def summarize(
        self,
        model: str,
        text: str,
        max_length: int | None = None,
        *,
        fallback_models: Sequence[str] | None = None,
        gateway: Gateway = None,
    ) -> str:
        return await self._drive(
            self.plan_summarize(model, text, max_length, fallback_models, gateway)
        )

    async def submit_batch(self, model: str, requests: Sequence[Mapping[str, Any]]) -> BatchStatus:
        return await self._drive(self.plan_submit_batch(model, requests))

    async def get_batch(self, model: str, request_id: str) -> BatchStatus:
        return await self._drive(self.plan_get_batch(model, request_id))

    async def run_batch(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
        *,
        poll_interval: float = DEFAULT_BATCH_POLL_INTERVAL,
        timeout: float = DEFAULT_BATCH_TIMEOUT,
    ) -> list[BatchItem]:
        return await self._drive(self.plan_run_batch(model, requests, poll_interval, timeout))

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

    # -- the driver: the only I/O ---------------------------------------------------------------

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._http_client is None:  # httpx's default limits, as the sync client's
            self._http_client = httpx.AsyncClient(
                verify=shared_ssl_context(), headers=self._headers(), timeout=self._timeout
            )
        return self._http_client

    def _request(self, request: WireRequest) -> httpx.Request:
        return self._http.build_request(
            request.method, request.url, **self._httpx_kwargs(request, self._owns_http)
        )

    async def _drive(self, plan: Plan[_T]) -> _T:
        """Run ``plan`` to its result: send, sleep, fan out on the event loop."""
        reply: Any = None
        failure: Exception | None = None
        while True:
            try:
                step = plan.send(reply) if failure is None else plan.throw(failure)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            reply, failure = None, None
            try:
                if type(step) is Send:
                    reply = await self._http.send(self._request(step.request))
                elif type(step) is Pause:
                    await asyncio.sleep(step.seconds)
                elif type(step) is Gather:
                    reply = await self._gather(step)
                else:
                    raise unexpected(step)
            except Exception as exc:  # the plan's to handle: thrown back into it
                failure = exc

    async def _gather(self, step: Gather) -> list[Any]:
        gate = asyncio.Semaphore(step.limit)

        async def one(plan: Plan[Any]) -> Any:
            async with gate:
                result = await self._drive(plan)
            if step.on_done is not None:
                step.on_done(result)
            return result

        return list(await asyncio.gather(*(one(plan) for plan in step.plans)))

    async def _stream(self, plan: Plan[None]) -> AsyncIterator[ChatChunk]:
        """:meth:`WorkersAI._stream`, awaited."""
        response: httpx.Response | None = None
        body: AsyncIterator[bytes] | None = None
        reply: Any = None
        failure: Exception | None = None
        try:
            while True:
                try:
                    step = plan.send(reply) if failure is None else plan.throw(failure)
                except StopIteration:
                    return
                reply, failure = None, None
                if type(step) is Emit:
                    for chunk in step.chunks:
                        yield chunk
                    continue
                try:
                    if step is READ and body is not None:
                        reply = await anext(body, None)
                    elif type(step) is Open:
                        if response is not None:
                            await response.aclose()
                        response = await self._http.send(self._request(step.request), stream=True)
                        body = response.aiter_bytes()
                        reply = response
                    elif step is READ_REST and response is not None:
                        await response.aread()
                    elif step is DRAIN and body is not None:
                        await _adrain(body)
                    elif type(step) is Pause:
                        await asyncio.sleep(step.seconds)
                    else:
                        raise unexpected(step)
                except Exception as exc:  # the plan's to handle: thrown back into it
                    failure = exc
        finally:
            plan.close()
            if response is not None:
                await response.aclose()


__all__ = ["AsyncWorkersAI", "WorkersAI"]
