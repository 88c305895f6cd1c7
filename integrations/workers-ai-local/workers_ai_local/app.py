"""The Starlette app: Cloudflare's Workers AI routes over any :class:`Backend`.

Every data request goes through :meth:`_Service.serve`: log, authenticate, check the account,
consume a pending fault, then run the route. Gateway routes first pass the gateway
(:mod:`~workers_ai_local.gateway`: its own auth, metadata checks, an answer cache that a hit
leaves the backend and the fault queue untouched for). The native run route also serves the
async batch API (:mod:`~workers_ai_local.batch`). Backends are synchronous, so generation runs
in worker threads; a stream is shaped, faulted and re-cut into writes in the same worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import secrets
import socket
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers_ai._catalog import DEFAULT_REASONING_FIELD, ModelSpec, model_spec, result_shape
from workers_ai_local import batch as batch_mod
from workers_ai_local import catalog as catalog_mod
from workers_ai_local import faults as faults_mod
from workers_ai_local import gateway as gateway_mod
from workers_ai_local import tasks as tasks_mod
from workers_ai_local.backends import (
    Backend,
    CatalogEntry,
    GenerationEvent,
    GenerationRequest,
)
from workers_ai_local.batch import BatchBook
from workers_ai_local.errors import (
    ApiError,
    authentication_error,
    bad_account,
    bad_input,
    method_not_allowed,
    missing_body,
    model_retired,
    no_route,
    no_stand_in,
    no_such_model,
    paid_plan_required,
)
from workers_ai_local.faults import ConnectionReset, Fault, FaultBook, StreamAborted
from workers_ai_local.gateway import CachedAnswer, Gateway, GatewayError
from workers_ai_local.requestlog import RequestLog
from workers_ai_local.streams import (
    DONE_FRAME,
    legacy_events,
    openai_chunks,
    random_padding,
    regroup_writes,
    responses_events,
    scout_events,
    sse_frame,
    typed_sse_frame,
)
from workers_ai_local.validate import (
    include_usage,
    is_responses_body,
    json_type,
    parse_embedding,
    parse_generation,
    parse_openai_embedding,
    parse_responses,
    wants_stream,
)
from workers_ai_local.wire import (
    Completion,
    chat_completion,
    collect,
    embedding_result,
    envelope,
    error_envelope,
    openai_embeddings,
    text_result,
)

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

API_PREFIX = "/client/v4/accounts/{account_id}/ai"
GATEWAY_PREFIX = "/v1/{account_id}/{gateway_id}/workers-ai"
CONTROL_PREFIX = "/__local__"
CONTROL_ERROR_CODE = 1000  # our own control API, not a Cloudflare code

Shaper = Callable[[Iterator[GenerationEvent]], Iterator[dict[str, Any]]]
Handler = Callable[[Request, bytes, Fault | None], Awaitable[Response]]


def create_app(
    token: str,
    account_id: str,
    backend: Backend,
    *,
    faults: FaultBook | None = None,
    log: RequestLog | None = None,
    batches: BatchBook | None = None,
    gateway: Gateway | None = None,
    paid_plan: bool = False,
) -> Starlette:
    """The local Workers AI server as an ASGI app.

    ``faults``, ``log``, ``batches`` and ``gateway`` may be passed in to share them with
    in-process test helpers (see :class:`workers_ai_local.server.LocalServer`); by default the
    app owns fresh ones. ``paid_plan``: the account is on Workers Paid, so models that need it
    answer (on the Free plan they answer 403 / 5035, as Cloudflare's do).
    """
    svc = _Service(
        token,
        account_id,
        backend,
        faults or FaultBook(),
        log or RequestLog(),
        batches or BatchBook(),
        gateway or Gateway(),
        paid_plan,
    )

    def data(path: str, handler: Handler) -> Route:
        return Route(path, partial(svc.serve, "data", handler), methods=["POST"])

    search = partial(svc.serve, "models", svc.models_search)
    routes = [
        data(f"{API_PREFIX}/run/{{model:path}}", svc.run_or_batch),
        Route(f"{API_PREFIX}/models/search", search, methods=["GET"]),
        data(f"{API_PREFIX}/v1/chat/completions", svc.openai_chat),
        data(f"{API_PREFIX}/v1/embeddings", svc.openai_embed),
        data(f"{API_PREFIX}/v1/responses", svc.openai_responses),
        # The gateway's v1 routes must precede its catch-all model route.
        data(f"{GATEWAY_PREFIX}/v1/chat/completions", svc.openai_chat),
        data(f"{GATEWAY_PREFIX}/v1/embeddings", svc.openai_embed),
        data(f"{GATEWAY_PREFIX}/v1/responses", svc.openai_responses),
        data(f"{GATEWAY_PREFIX}/{{model:path}}", svc.run),
        Route(f"{CONTROL_PREFIX}/faults", svc.control_faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{CONTROL_PREFIX}/requests", svc.control_requests, methods=["GET", "DELETE"]),
        Route(f"{CONTROL_PREFIX}/batch", svc.control_batch, methods=["GET", "POST", "DELETE"]),
        Route(f"{CONTROL_PREFIX}/gateway", svc.control_gateway, methods=["GET", "POST", "DELETE"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(AbortMiddleware), Middleware(CfRayMiddleware)],
        exception_handlers={HTTPException: svc.unrouted},
    )


class CfRayMiddleware:
    """Adds Cloudflare's ``cf-ray`` header (random hex + ``-LOCAL``) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ray = secrets.token_hex(8) + "-LOCAL"

        async def send_with_ray(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("cf-ray", ray)
            await send(message)

        await self.app(scope, receive, send_with_ray)


class AbortMiddleware:
    """Turns :class:`StreamAborted` (an injected fault) into a dropped connection.

    Returning with the response unfinished makes uvicorn close the socket with a one-line log,
    where a propagating exception would print a full traceback for an intended failure.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette collapses single-exception task groups, so the bare exception arrives here.
        try:
            with contextlib.suppress(StreamAborted):
                await self.app(scope, receive, send)
        except ConnectionReset:
            await _reset_connection(receive)


def _transport(receive: Receive) -> asyncio.Transport | None:
    # ASGI cannot drop a connection without answering; uvicorn's receive is a method of its
    # request cycle, which holds the connection's transport.
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


async def _reset_connection(receive: Receive) -> None:
    """Close the connection with a TCP RST (linger 0) and no response at all."""
    transport = _transport(receive)
    if transport is None:  # not uvicorn: fail loudly rather than answer something
        raise ConnectionReset
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # One loop turn lets uvicorn register the disconnect, so it sends no 500 of its own.
    await anyio.lowlevel.checkpoint()


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(_dumps(body), status, headers, media_type="application/json")


def error_response(err: ApiError) -> Response:
    return json_response(error_envelope(err.code, err.message), err.status, err.headers)


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


class _TruncatedResponse(Response):
    """Declares the full Content-Length, sends half the body, then drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send(
            {
                "type": "http.response.body",
                "body": self.body[: len(self.body) // 2],
                "more_body": True,
            }
        )
        raise StreamAborted


def _replayable(response: Response) -> CachedAnswer | None:
    """A successful whole answer, as the gateway cache keeps it; a stream is never cached."""
    if response.status_code != 200 or isinstance(response, StreamingResponse):
        return None
    return CachedAnswer(200, bytes(response.body), response.media_type)


def _is(fault: Fault | None, kind: str) -> bool:
    return fault is not None and fault.kind == kind


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise missing_body()
    try:
        data = json.loads(body)
    except ValueError:
        raise bad_input(
            "Unexpected token in JSON body: the request body is not valid JSON"
        ) from None
    if not isinstance(data, dict):
        raise bad_input(f"Type mismatch of '/', '{json_type(data)}' not in 'object'")
    return data


def _body_model(data: Mapping[str, Any], required: str) -> str:
    model = data.get("model")
    if model is None:
        raise bad_input(f"required properties at '/' are {required}")
    if not isinstance(model, str):
        raise bad_input(f"Type mismatch of '/model', '{json_type(model)}' not in 'string'")
    return model


async def _iterate_off_loop(writes: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Drive a synchronous byte iterator in worker threads; close it if the client leaves."""
    try:
        async for chunk in iterate_in_threadpool(writes):
            yield chunk
    finally:
        close = getattr(writes, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(close)


class _Service:
    def __init__(
        self,
        token: str,
        account_id: str,
        backend: Backend,
        faults: FaultBook,
        log: RequestLog,
        batches: BatchBook,
        gateway: Gateway,
        paid_plan: bool,
    ) -> None:
        self._paid_plan = paid_plan
        self._token = token
        self._account_id = account_id
        self._backend = backend
        self._faults = faults
        self._log = log
        self._batches = batches
        self._gateway = gateway
        self._catalog: dict[str, CatalogEntry] = {e.name: e for e in backend.catalog()}
        self._pad = random_padding(random.Random())

    # -- the common request path ------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return secrets.compare_digest(given.encode(), f"Bearer {self._token}".encode())

    def _record(self, request: Request, body: bytes) -> dict[str, Any]:
        return self._log.record(
            method=request.method,
            path=request.url.path,
            query=request.query_params,
            headers=request.headers.items(),
            body=body,
            auth_ok=self._authorized(request),
            gateway_id=request.path_params.get("gateway_id"),
        )

    async def serve(self, route: faults_mod.Scope, handler: Handler, request: Request) -> Response:
        body = await request.body()
        entry = self._record(request, body)
        gateway_id = request.path_params.get("gateway_id")
        if gateway_id is not None:
            response = await self._via_gateway(gateway_id, route, handler, request, body, entry)
        else:
            try:
                self._check_caller(entry, request)
                response, _ = await self._upstream(route, handler, request, body, entry)
            except ApiError as err:
                response = error_response(err)
        self._log.update(entry, status=response.status_code)
        return response

    def _check_caller(self, entry: Mapping[str, Any], request: Request) -> None:
        if not entry["auth_ok"]:
            raise authentication_error()
        if request.path_params.get("account_id") != self._account_id:
            raise bad_account(request.url.path)

    async def _upstream(
        self,
        route: faults_mod.Scope,
        handler: Handler,
        request: Request,
        body: bytes,
        entry: dict[str, Any],
    ) -> tuple[Response, Fault | None]:
        """Consume a pending fault and run the route: the part a gateway cache hit skips."""
        fault = self._faults.take(route)
        if fault is None:
            return await handler(request, body, None), None
        self._log.update(entry, fault=fault.kind)
        if fault.kind == "reset":
            raise ConnectionReset
        response = await self._faulted(fault)
        if response is None:
            response = await handler(request, body, fault)
        return response, fault

    async def _via_gateway(
        self,
        gateway_id: str,
        route: faults_mod.Scope,
        handler: Handler,
        request: Request,
        body: bytes,
        entry: dict[str, Any],
    ) -> Response:
        """The gateway's checks and cache around the ordinary request path.

        The API token is checked before the cache, so a wrong token never gets a cached answer.
        """
        cache_status = "MISS"
        try:
            policy = self._gateway.admit(
                gateway_id, request.headers, path=request.url.path, body=body
            )
            self._check_caller(entry, request)
            cached = self._gateway.lookup(policy)
            if cached is not None:
                cache_status = "HIT"
                response = Response(cached.body, cached.status, media_type=cached.media_type)
            else:
                response, fault = await self._upstream(route, handler, request, body, entry)
                if fault is None:
                    self._gateway.store(policy, _replayable(response))
        except GatewayError as err:
            envelope_ = gateway_mod.gateway_envelope(err.code, err.message)
            response = json_response(envelope_, err.status)
        except ApiError as err:
            response = error_response(err)
        response.headers[gateway_mod.CACHE_STATUS_HEADER] = cache_status
        response.headers[gateway_mod.LOG_ID_HEADER] = str(uuid.uuid4())
        self._log.update(entry, cache=cache_status)
        return response

    async def _faulted(self, fault: Fault) -> Response | None:
        """Apply a fault that acts before the route runs; a reply replaces the route's."""
        if fault.kind == "latency":
            await anyio.sleep(fault.delay)
        reply = faults_mod.error_reply(fault)
        if reply is None:
            return None
        return Response(reply.body, reply.status, reply.headers, media_type=reply.media_type)

    async def unrouted(self, request: Request, exc: Exception) -> Response:
        """404/405 for paths and methods Cloudflare does not serve, in its envelope."""
        entry = self._record(request, await request.body())
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        err = method_not_allowed(request.method) if status == 405 else no_route()
        self._log.update(entry, status=err.status)
        return error_response(err)

    def _model(self, name: str, task: str | None = None) -> CatalogEntry:
        """The served model ``name``: a retired one answers 410 / 5028, one that needs Workers
        Paid 403 / 5035 on a Free-plan account, an unknown one 400 / 5007."""
        entry = self._catalog.get(name)
        spec = model_spec(name)
        if entry is None and spec is not None and spec.retired():
            raise model_retired(spec)
        if entry is None or (task is not None and entry.task != task):
            raise no_such_model(name)
        if spec is not None and spec.paid_only and not self._paid_plan:
            raise paid_plan_required(name)
        return entry

    # -- running the backend off the event loop ---------------------------------------------

    async def _complete(self, request: GenerationRequest) -> Completion:
        return await self._in_thread(lambda: collect(self._backend.generate(request)))

    async def _embed(self, model: str, texts: tuple[str, ...]) -> list[list[float]]:
        return await self._in_thread(lambda: self._backend.embed(model, texts))

    async def _in_thread(self, work: Callable[[], _T]) -> _T:
        try:
            return await run_in_threadpool(work)
        except ApiError:
            raise
        except Exception as exc:  # a backend bug must still answer in Cloudflare's envelope
            logger.exception("backend %s failed", self._backend.name)
            raise ApiError(500, 3001, faults_mod.INTERNAL_ERROR_MESSAGE) from exc

    async def _stream(
        self,
        request: GenerationRequest,
        shape: Shaper,
        fault: Fault | None,
        *,
        frame: Callable[[dict[str, Any]], bytes] = sse_frame,
        done: bool = True,
    ) -> Response:
        def start() -> tuple[GenerationEvent | None, Iterator[GenerationEvent]]:
            events = iter(self._backend.generate(request))
            return next(events, None), events

        # The first event is produced before headers go out, so a backend that fails at once
        # still gets a proper error envelope instead of a broken stream.
        first, events = await self._in_thread(start)
        if first is None:
            raise ApiError(500, 3001, faults_mod.INTERNAL_ERROR_MESSAGE)
        payloads = shape(itertools.chain([first], events))
        frames = itertools.chain(map(frame, payloads), [DONE_FRAME] if done else [])
        writes = regroup_writes(faults_mod.apply_to_frames(fault, frames))
        headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        return StreamingResponse(_iterate_off_loop(writes), headers=headers)

    async def _reply(self, body: Any, fault: Fault | None) -> Response:
        """A JSON answer, with the non-stream readings of the stream faults."""
        if _is(fault, "stall_stream") and fault:
            await anyio.sleep(fault.delay)
        if _is(fault, "cut_stream"):
            return _TruncatedResponse(_dumps(body), media_type="application/json")
        if _is(fault, "malformed_event"):
            raw = _dumps(body)
            return Response(raw[: len(raw) // 2], media_type="application/json")
        return json_response(body)

    # -- routes -----------------------------------------------------------------------------

    async def run(self, request: Request, body: bytes, fault: Fault | None) -> Response:
        model = request.path_params["model"]
        if b"%2f" in request.scope.get("raw_path", b"").lower():
            # Cloudflare does not route a model name whose slashes are URL-encoded (error 7000).
            raise no_route()
        if "gateway_id" in request.path_params:
            model = model.removeprefix("run/")  # Cloudflare's own SDK uses .../workers-ai/run/<m>
        entry = self._model(model)
        if entry.task in tasks_mod.TASKS:
            # Speech and image models also take the raw file as the body.
            binary = tasks_mod.is_binary(body, request.headers.get("content-type"))
            inputs = body if binary else _json_object(body)
            answer = await self._in_thread(partial(tasks_mod.answer, entry.task, model, inputs))
            if isinstance(answer, tasks_mod.BinaryResult):
                return Response(answer.content, media_type=answer.media_type)
            return await self._reply(envelope(answer), fault)
        data = _json_object(body)
        if entry.task == "Text Embeddings":
            embed = parse_embedding(data, model)
            vectors = await self._embed(model, embed.texts)
            return await self._reply(envelope(embedding_result(vectors, embed.pooling)), fault)
        family = result_shape(model)
        if entry.task != "Text Generation" or family == "decision":
            raise no_stand_in(model, entry.task)
        stream = wants_stream(data)
        if family == "responses" and is_responses_body(data):
            gen = parse_responses(data, model)
        else:
            gen = parse_generation(data, model, openai_route=False)
            if family == "responses":
                family = "openai"  # gpt-oss given messages answers as a chat completion
        if family in ("legacy", "scout"):
            gen = replace(gen, reasoning=False)  # these think inside their text, if at all
        completion_id, created = uuid.uuid4().hex, int(time.time())
        field = _reasoning_field(model_spec(model))
        if stream and not _is(fault, "json_for_stream"):
            shape: Shaper
            if family == "legacy":
                shape = partial(legacy_events, pad=self._pad)
            elif family == "scout":
                shape = partial(scout_events, pad=self._pad)
            elif family == "responses":
                shape = partial(
                    responses_events, response_id=completion_id, created=created, model=model
                )
                return await self._stream(gen, shape, fault, frame=typed_sse_frame)
            else:
                shape = partial(
                    openai_chunks,
                    completion_id=f"chatcmpl-{completion_id}",
                    created=created,
                    model=model,
                    usage="every_chunk",
                    native_terminal=True,
                    reasoning_field=field,
                )
            return await self._stream(gen, shape, fault)
        completion = await self._complete(gen)
        result = text_result(
            family,
            completion,
            json_mode=gen.response_format is not None,
            model=model,
            completion_id=f"chatcmpl-{completion_id}" if family == "openai" else completion_id,
            created=created,
            reasoning_field=field,
        )
        return await self._reply(envelope(result), fault)

    async def openai_chat(self, request: Request, body: bytes, fault: Fault | None) -> Response:
        data = _json_object(body)
        model = _body_model(data, "'model', 'messages'")
        self._model(model, "Text Generation")
        stream, with_usage = wants_stream(data), include_usage(data)
        gen = parse_generation(data, model, openai_route=True)
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        field = _reasoning_field(model_spec(model))
        if stream and not _is(fault, "json_for_stream"):
            shape = partial(
                openai_chunks,
                completion_id=completion_id,
                created=created,
                model=model,
                usage="final" if with_usage else "none",
                native_terminal=False,
                reasoning_field=field,
            )
            return await self._stream(gen, shape, fault)
        completion = await self._complete(gen)
        body_out = chat_completion(
            completion,
            model=model,
            completion_id=completion_id,
            created=created,
            reasoning_field=field,
        )
        return await self._reply(body_out, fault)

    async def openai_responses(
        self, request: Request, body: bytes, fault: Fault | None
    ) -> Response:
        """``/ai/v1/responses``: the Responses API, streamed the OpenAI way (typed events, no
        ``[DONE]`` after ``response.completed``)."""
        data = _json_object(body)
        model = _body_model(data, "'model', 'input'")
        self._model(model, "Text Generation")
        stream = wants_stream(data)
        gen = parse_responses(data, model)
        response_id, created = uuid.uuid4().hex, int(time.time())
        if stream and not _is(fault, "json_for_stream"):
            shape = partial(responses_events, response_id=response_id, created=created, model=model)
            return await self._stream(gen, shape, fault, frame=typed_sse_frame, done=False)
        completion = await self._complete(gen)
        answer = text_result(
            "responses",
            completion,
            json_mode=gen.response_format is not None,
            model=model,
            completion_id=response_id,
            created=created,
        )
        return await self._reply(answer, fault)

    async def openai_embed(self, request: Request, body: bytes, fault: Fault | None) -> Response:
        data = _json_object(body)
        model = _body_model(data, "'model', 'input'")
        self._model(model, "Text Embeddings")
        embed = parse_openai_embedding(data, model)
        vectors = await self._embed(model, embed.texts)
        # Word counts: the same approximation of tokens the echo backend reports for text.
        tokens = sum(len(t.split()) for t in embed.texts)
        out = openai_embeddings(
            vectors, model=model, prompt_tokens=tokens, encoding_format=embed.encoding_format
        )
        return await self._reply(out, fault)

    async def models_search(self, request: Request, body: bytes, fault: Fault | None) -> Response:
        params = request.query_params
        query = catalog_mod.SearchQuery(
            page=_positive_int(params.get("page"), "page", 1, None),
            per_page=_positive_int(
                params.get("per_page"),
                "per_page",
                catalog_mod.DEFAULT_PER_PAGE,
                catalog_mod.MAX_PER_PAGE,
            ),
            task=params.get("task") or None,
            search=params.get("search") or None,
            author=params.get("author") or None,
            source=_positive_int(params.get("source"), "source", 0, None) or None,
            hide_experimental=_flag(params.get("hide_experimental"), "hide_experimental"),
        )
        items, info = catalog_mod.search(list(self._catalog.values()), query)
        return json_response({**envelope(items), "result_info": info})

    # -- the async batch API on the native run route (wire contract §6) ---------------------

    async def run_or_batch(self, request: Request, body: bytes, fault: Fault | None) -> Response:
        queued = batch_mod.is_queued(request.query_params)
        if not queued and b'"request_id"' not in body:  # the common case: no JSON to parse here
            return await self.run(request, body, fault)
        if queued and len(body) > batch_mod.MAX_PAYLOAD_BYTES:
            raise batch_mod.request_too_large()
        data = _json_object(body)
        if batch_mod.is_poll(data):
            answer = self._batches.poll(batch_mod.poll_id(data))
        elif queued:
            model = request.path_params["model"]
            self._model(model)
            items = batch_mod.batch_items(data)
            outcomes = [await self._batch_item(model, i, item) for i, item in enumerate(items)]
            answer = self._batches.submit(model, outcomes)
        else:
            return await self.run(request, body, fault)
        return await self._reply(envelope(answer), fault)

    async def _batch_item(self, model: str, index: int, item: Any) -> batch_mod.ItemOutcome:
        """One queued item, answered by the native run route itself so its result is exactly
        what that route would return."""
        ref = batch_mod.external_reference(item)
        try:
            data = batch_mod.model_input(item, index)
            response = await self.run(_item_request(model), _dumps(data), None)
        except ApiError as err:
            return batch_mod.failed(index, ref, err.code, err.message)
        if response.media_type != "application/json":  # e.g. an image: nothing to queue
            return batch_mod.failed(index, ref, 5006, batch_mod.NOT_QUEUEABLE_MESSAGE)
        result = json.loads(bytes(response.body))["result"]
        return batch_mod.succeeded(index, ref, result, batch_mod.item_usage(data, result))

    # -- control API (not Cloudflare's) -----------------------------------------------------

    async def _control(
        self,
        request: Request,
        show: Callable[[], Any],
        update: Callable[[dict[str, Any]], None],
        restore: Callable[[], None],
    ) -> Response:
        """GET shows the state, POST a JSON object updates it, DELETE restores the default."""
        if not self._authorized(request):
            return error_response(authentication_error())
        if request.method == "DELETE":
            restore()
        elif request.method == "POST":
            try:
                spec = json.loads(await request.body() or b"null")
                if not isinstance(spec, dict):
                    raise ValueError("the body must be a JSON object")
                update(spec)
            except (ValueError, TypeError) as exc:  # FaultError is a ValueError
                return error_response(ApiError(400, CONTROL_ERROR_CODE, str(exc)))
        return json_response(envelope(show()))

    async def control_faults(self, request: Request) -> Response:
        def add(spec: dict[str, Any]) -> None:
            self._faults.add(faults_mod.parse_fault(spec))

        return await self._control(request, self._faults.pending, add, self._faults.clear)

    async def control_batch(self, request: Request) -> Response:
        def show() -> dict[str, Any]:
            return {"pending_polls": self._batches.pending_polls}

        def update(spec: dict[str, Any]) -> None:
            self._batches.configure(batch_mod.parse_settings(spec))

        return await self._control(request, show, update, self._batches.reset)

    async def control_gateway(self, request: Request) -> Response:
        def show() -> dict[str, Any]:
            return self._gateway.settings.describe()

        def update(spec: dict[str, Any]) -> None:
            self._gateway.configure(gateway_mod.parse_settings(spec))

        return await self._control(request, show, update, self._gateway.reset)

    async def control_requests(self, request: Request) -> Response:
        if not self._authorized(request):
            return error_response(authentication_error())
        if request.method == "DELETE":
            self._log.clear()
        return json_response(envelope(self._log.entries()))


def _reasoning_field(spec: ModelSpec | None) -> str:
    return spec.reasoning.output_field if spec and spec.reasoning else DEFAULT_REASONING_FIELD


def _item_request(model: str) -> Request:
    """A stand-in request that runs one batch item through the native run route."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/run/{model}",
        "raw_path": b"",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "path_params": {"model": model},
    }
    return Request(scope)


def _flag(raw: str | None, name: str) -> bool:
    if raw is None or raw == "":
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise bad_input(f"query parameter '{name}' must be true or false")


def _positive_int(raw: str | None, name: str, default: int, maximum: int | None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        limit = f" and <= {maximum}" if maximum is not None else ""
        raise bad_input(f"query parameter '{name}' must be an integer >= 1{limit}")
    return value
