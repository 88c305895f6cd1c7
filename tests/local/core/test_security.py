"""The API token never shows, and plain http to a remote host is refused.

A local server started by this module requires a distinctive random token; a second random
token, which the server refuses, provokes 401s. Every public class of the three packages is
built with the token and driven through its sync, async, streaming, embedding and catalog calls
and through its error paths (401, injected 500/429 with retries, a refused connection, a
timeout, broken streams). Everything those calls let a user or a tool see is recorded in an
:class:`Audit` and grepped for both tokens at the end: every log record at DEBUG (message, args,
formatted traceback), str/repr/traceback of every exception and of its chained causes, the
strings reachable from the exception's ``__dict__``, repr/str/copy/deepcopy of every object,
pydantic and framework dumps (``model_dump``, ``to_json``, ``langchain_core.load.dumps``,
``to_dict``), LangChain's identifying and LangSmith params and callback payloads, LlamaIndex's
``metadata``, callback payloads, instrumentation events and span arguments.

Pickles are checked apart: a pickle is the object itself, so it may hold the token only when
the copy needs it to work (it is then checked to work).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import pickle
import secrets
import socket
import traceback
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler as LCCallbackHandler
from langchain_core.load import dumpd, dumps
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.callbacks import CallbackManager
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from pydantic import BaseModel, PrivateAttr, ValidationError

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from llama_index.embeddings.workers_ai import WorkersAIEmbedding
from llama_index.llms.workers_ai import WorkersAI as LlamaWorkersAI
from llama_index.llms.workers_ai import _metadata as llama_metadata
from tests.standard.llama_index.conformance import CallbackRecorder, EventRecorder
from workers_ai import (
    APIConnectionError,
    APITimeoutError,
    AsyncWorkersAI,
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    ServerError,
    StreamError,
    WorkersAI,
    WorkersAIError,
)
from workers_ai._retry import RetryPolicy
from workers_ai_local import LocalServer

TOKEN = "sekret-" + secrets.token_hex(16)
WRONG_TOKEN = "sekret-wrong-" + secrets.token_hex(16)
SECRETS = (TOKEN, WRONG_TOKEN)
ACCOUNT = "security-account"

CHAT = "@cf/meta/llama-3.1-8b-instruct-fp8"
OPENAI_CHAT = "@cf/qwen/qwen3-30b-a3b-fp8"
# Served, but made unknown to the package's catalog (see newer_model): metadata searches.
UNKNOWN_CHAT = "@cf/meta/llama-3.2-3b-instruct"
EMBED = "@cf/baai/bge-base-en-v1.5"
ASK = [{"role": "user", "content": "tell me about the sea"}]
FAST_RETRIES = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.02)

CORE_CLASSES: tuple[type[Any], ...] = (WorkersAI, AsyncWorkersAI)
ADAPTER_CLASSES: tuple[type[Any], ...] = (
    ChatWorkersAI,
    WorkersAIEmbeddings,
    LlamaWorkersAI,
    WorkersAIEmbedding,
)
ALL_CLASSES = CORE_CLASSES + ADAPTER_CLASSES
LOGGERS = ("", "workers_ai", "httpx", "httpcore", "langchain_core", "llama_index", "asyncio")

# -- what is grepped -------------------------------------------------------------------------------

# Not entered: numbers hold no text; modules, classes and functions are code, not data.
_SKIPPED = (
    int,
    float,
    complex,
    bool,
    type(None),
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)


def reachable_strings(root: Any, limit: int = 50_000) -> Iterator[tuple[str, str]]:
    """Every str/bytes reachable from ``root`` through containers, ``__dict__`` and slots,
    as (path, text). Modules, classes and functions are not entered."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", root)]
    while stack and len(seen) < limit:
        path, obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIPPED):
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            yield path, obj
            continue
        if isinstance(obj, (bytes, bytearray, memoryview)):
            yield path, bytes(obj).decode("latin-1")
            continue
        if isinstance(obj, dict):
            for key, value in obj.items():
                stack.append((f"{path}[key]", key))
                stack.append((f"{path}[{key!r:.40}]", value))
            continue
        if isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(obj))
            continue
        if hasattr(obj, "__dict__") and isinstance(vars(obj), dict):
            stack.append((f"{path}.__dict__", vars(obj)))
        for klass in type(obj).__mro__:
            slots = klass.__dict__.get("__slots__", ())
            for slot in (slots,) if isinstance(slots, str) else slots:
                if hasattr(obj, slot):
                    stack.append((f"{path}.{slot}", getattr(obj, slot)))


def exception_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    stack: list[BaseException | None] = [error]
    while stack:
        item = stack.pop()
        if item is None or any(item is seen for seen in chain):
            continue
        chain.append(item)
        stack.extend((item.__cause__, item.__context__))
    return chain


class Audit:
    """Texts seen during a test, each with where it came from; :meth:`leaks` greps them."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.errors: list[BaseException] = []
        self._formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def text(self, where: str, value: Any) -> None:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("latin-1")
        self.texts.append((where, value if isinstance(value, str) else repr(value)))

    def attempt(self, where: str, produce: Callable[[], Any]) -> None:
        """Record what ``produce`` returns; a dump a class does not support is not a leak."""
        try:
            value = produce()
        except (TypeError, NotImplementedError, AttributeError) as exc:
            self.text(f"{where} (failed)", f"{exc!r} {exc}")
            return
        self.text(where, value if isinstance(value, (str, bytes)) else repr(value))
        if not isinstance(value, (str, bytes)):
            self.text(f"{where} (str)", str(value))

    def obj(self, where: str, obj: Any) -> None:
        """repr/str/copies of an object, and every dump it offers."""
        self.attempt(f"{where} repr", lambda: repr(obj))
        self.attempt(f"{where} str", lambda: str(obj))
        self.attempt(f"{where} format", lambda: f"{obj}")
        self.attempt(f"{where} copy", lambda: repr(copy.copy(obj)))
        self.attempt(f"{where} deepcopy", lambda: repr(copy.deepcopy(obj)))
        self.attempt(f"{where} langchain dumps", lambda: dumps(obj))
        self.attempt(f"{where} langchain dumpd", lambda: json.dumps(dumpd(obj), default=repr))
        if isinstance(obj, BaseModel):
            self.attempt(f"{where} model_dump", obj.model_dump)
            self.attempt(f"{where} model_dump_json", obj.model_dump_json)
            self.attempt(f"{where} model_dump(mode=json)", lambda: obj.model_dump(mode="json"))
            self.attempt(f"{where} __dict__", lambda: repr(vars(obj)))
        for method in ("to_json", "to_dict", "to_payload", "_get_ls_params"):
            bound = getattr(obj, method, None)
            if callable(bound):
                self.attempt(f"{where} {method}()", bound)
        for attribute in ("_identifying_params", "metadata", "lc_attributes", "lc_secrets"):
            if hasattr(type(obj), attribute) or (
                isinstance(obj, BaseModel) and attribute in vars(obj)
            ):
                self.attempt(f"{where}.{attribute}", lambda a=attribute: getattr(obj, a))
        if hasattr(obj, "_get_invocation_params"):
            self.attempt(f"{where} invocation params", obj._get_invocation_params)

    def error(self, where: str, error: BaseException) -> None:
        """str/repr of the error and of everything it chains, its formatted traceback (messages
        only: locals are not part of a traceback's text), and the strings its ``__dict__``
        reaches."""
        self.errors.append(error)
        for i, item in enumerate(exception_chain(error)):
            self.text(f"{where} chain[{i}] {type(item).__name__} str", str(item))
            self.text(f"{where} chain[{i}] {type(item).__name__} repr", repr(item))
            self.text(f"{where} chain[{i}] args", repr(item.args))
            if isinstance(item, ValidationError):
                self.attempt(f"{where} chain[{i}] errors()", item.errors)
                self.attempt(f"{where} chain[{i}] json()", item.json)
        self.text(f"{where} traceback", "".join(traceback.format_exception(error)))
        for path, text in reachable_strings(vars(error)):
            self.text(f"{where} __dict__{path}", text)

    def records(self, records: list[logging.LogRecord]) -> None:
        for record in records:
            where = f"log {record.name}:{record.levelname}"
            self.text(f"{where} message", record.getMessage())
            self.text(f"{where} args", repr(record.args))
            self.text(f"{where} formatted", self._formatter.format(record))
            if record.exc_info and record.exc_info[1] is not None:
                self.error(f"{where} exc_info", record.exc_info[1])

    def leaks(self) -> list[str]:
        return [
            f"{where}: ...{text[max(0, text.find(s) - 80) : text.find(s) + 20]}..."
            for where, text in self.texts
            for s in SECRETS
            if s in text
        ]

    def expect(self, kind: type[BaseException], where: str, call: Callable[[], Any]) -> None:
        with pytest.raises(kind) as caught:
            result = call()
            if isinstance(result, Iterator):
                list(result)
        self.error(where, caught.value)

    async def aexpect(self, kind: type[BaseException], where: str, call: Callable[[], Any]) -> None:
        with pytest.raises(kind) as caught:
            result = call()
            if isinstance(result, Awaitable):
                result = await result
            if isinstance(result, AsyncIterator):
                async for _ in result:
                    pass
        self.error(where, caught.value)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secret_server() -> Iterator[LocalServer]:
    server = LocalServer(port=0, token=TOKEN, account_id=ACCOUNT).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def srv(secret_server: LocalServer) -> Iterator[LocalServer]:
    secret_server.reset()
    yield secret_server
    secret_server.reset()


@pytest.fixture
def closed_url() -> str:
    """A loopback base URL on which nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/client/v4"


@pytest.fixture
def audit(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Iterator[Audit]:
    """An Audit that also gets every log record, captured at DEBUG for every logger. Its
    :meth:`Audit.leaks` must be empty at the end of the test (asserted by the test itself, so
    that a failure names the test)."""
    for name in ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield Audit()


def finish(audit: Audit, caplog: pytest.LogCaptureFixture) -> None:
    audit.records(caplog.records)
    assert caplog.records, "nothing was logged: the DEBUG capture is not working"
    leaks = audit.leaks()
    assert not leaks, "the token leaked:\n" + "\n".join(leaks)


def connection(server: LocalServer, token: str = TOKEN, **extra: Any) -> dict[str, Any]:
    return {
        "account_id": server.account_id,
        "api_token": token,
        "base_url": server.base_url,
        **extra,
    }


def with_fast_retries(client: WorkersAI | AsyncWorkersAI) -> WorkersAI | AsyncWorkersAI:
    client._retry = FAST_RETRIES
    return client


# -- the core clients ------------------------------------------------------------------------------


def test_sync_core_client_never_shows_the_token(
    srv: LocalServer, closed_url: str, audit: Audit, caplog: pytest.LogCaptureFixture
) -> None:
    client = WorkersAI(**connection(srv, gateway_url=srv.gateway_url))
    with_fast_retries(client)
    audit.obj("WorkersAI (fresh)", client)
    audit.obj("chat result", client.chat(CHAT, ASK, max_tokens=8))
    audit.obj("openai chat result", client.chat(OPENAI_CHAT, prompt="hello"))
    audit.obj("chunks", list(client.stream_chat(CHAT, ASK)))
    audit.obj("openai chunks", list(client.stream_chat(OPENAI_CHAT, ASK)))
    audit.obj("embedding", client.embed(EMBED, ["a", "b"]))
    audit.obj("models", client.models(search="llama"))
    audit.obj("run", client.run(EMBED, {"text": ["x"]}))
    gateway = WorkersAI(**connection(srv, gateway_id="gw", gateway_url=srv.gateway_url))
    audit.obj("gateway chat result", gateway.chat(CHAT, ASK))
    audit.obj("WorkersAI (gateway)", gateway)
    gateway.close()

    srv.inject("rate_limit", count=1, retry_after=0)
    audit.obj("chat after a 429", client.chat(CHAT, ASK))
    srv.inject("server_error", count=1)
    audit.obj("stream after a 500", list(client.stream_chat(CHAT, ASK)))
    srv.inject("server_error", count=3)
    audit.expect(ServerError, "500 x3", lambda: client.chat(CHAT, ASK))
    srv.inject("rate_limit", count=3, retry_after=0)
    audit.expect(RateLimitError, "429 x3", lambda: client.embed(EMBED, "x"))
    srv.inject("html_error", count=3)
    audit.expect(ServerError, "html 502", lambda: client.stream_chat(CHAT, ASK))
    srv.inject("cut_stream", after=2)
    audit.expect(StreamError, "cut stream", lambda: client.stream_chat(CHAT, ASK))
    srv.inject("cut_stream", after=2, abrupt=True)
    audit.expect(StreamError, "aborted stream", lambda: client.stream_chat(CHAT, ASK))
    srv.inject("malformed_event", at=1)
    audit.expect(StreamError, "malformed event", lambda: client.stream_chat(CHAT, ASK))

    with WorkersAI(**connection(srv, WRONG_TOKEN)) as wrong:
        audit.obj("WorkersAI (wrong token)", wrong)
        audit.expect(AuthenticationError, "401 chat", lambda: wrong.chat(CHAT, ASK))
        audit.expect(AuthenticationError, "401 stream", lambda: wrong.stream_chat(CHAT, ASK))
        audit.expect(AuthenticationError, "401 embed", lambda: wrong.embed(EMBED, "x"))
        audit.expect(AuthenticationError, "401 models", wrong.models)
        audit.expect(AuthenticationError, "401 run", lambda: wrong.run(CHAT, {"prompt": "x"}))
    with WorkersAI(account_id=ACCOUNT, api_token=TOKEN, base_url=closed_url) as refused:
        with_fast_retries(refused)
        audit.expect(APIConnectionError, "refused chat", lambda: refused.chat(CHAT, ASK))
        audit.expect(APIConnectionError, "refused stream", lambda: refused.stream_chat(CHAT, ASK))
        audit.expect(APIConnectionError, "refused models", refused.models)
    with WorkersAI(**connection(srv, timeout=0.2, max_retries=0)) as slow:
        srv.inject("latency", delay=1.0, count=2)
        audit.expect(APITimeoutError, "timeout chat", lambda: slow.chat(CHAT, ASK))
        audit.expect(APITimeoutError, "timeout stream", lambda: slow.stream_chat(CHAT, ASK))
    audit.expect(
        ConfigurationError, "no account", lambda: WorkersAI(api_token=TOKEN).chat(CHAT, ASK)
    )

    audit.obj("WorkersAI (used)", client)
    client.close()
    finish(audit, caplog)


async def test_async_core_client_never_shows_the_token(
    srv: LocalServer, closed_url: str, audit: Audit, caplog: pytest.LogCaptureFixture
) -> None:
    client = AsyncWorkersAI(**connection(srv))
    with_fast_retries(client)
    audit.obj("AsyncWorkersAI (fresh)", client)
    audit.obj("chat result", await client.chat(CHAT, ASK))
    audit.obj("chunks", [c async for c in client.stream_chat(OPENAI_CHAT, ASK)])
    audit.obj("embedding", await client.embed(EMBED, ["a", "b", "c"]))
    audit.obj("models", await client.models(task="Text Embeddings"))
    audit.obj("run", await client.run(CHAT, {"prompt": "x"}))

    srv.inject("rate_limit", count=1, retry_after=0)
    audit.obj("stream after a 429", [c async for c in client.stream_chat(CHAT, ASK)])
    srv.inject("server_error", count=3)
    await audit.aexpect(ServerError, "500 x3", lambda: client.chat(CHAT, ASK))
    srv.inject("empty_body", count=3)
    await audit.aexpect(ServerError, "empty 502 x3", lambda: client.embed(EMBED, "x"))
    srv.inject("cut_stream", after=3, abrupt=True)
    await audit.aexpect(StreamError, "aborted stream", lambda: client.stream_chat(CHAT, ASK))
    srv.inject("malformed_event", at=2)
    await audit.aexpect(StreamError, "malformed event", lambda: client.stream_chat(CHAT, ASK))

    async with AsyncWorkersAI(**connection(srv, WRONG_TOKEN)) as wrong:
        await audit.aexpect(AuthenticationError, "401 chat", lambda: wrong.chat(CHAT, ASK))
        await audit.aexpect(AuthenticationError, "401 stream", lambda: wrong.stream_chat(CHAT, ASK))
        await audit.aexpect(AuthenticationError, "401 embed", lambda: wrong.embed(EMBED, "x"))
        await audit.aexpect(AuthenticationError, "401 models", wrong.models)
    async with AsyncWorkersAI(account_id=ACCOUNT, api_token=TOKEN, base_url=closed_url) as refused:
        with_fast_retries(refused)
        await audit.aexpect(APIConnectionError, "refused chat", lambda: refused.chat(CHAT, ASK))
        await audit.aexpect(
            APIConnectionError, "refused stream", lambda: refused.stream_chat(CHAT, ASK)
        )
    async with AsyncWorkersAI(**connection(srv, timeout=0.2, max_retries=0)) as slow:
        srv.inject("latency", delay=1.0, count=2)
        await audit.aexpect(APITimeoutError, "timeout embed", lambda: slow.embed(EMBED, "x"))
        await audit.aexpect(APITimeoutError, "timeout stream", lambda: slow.stream_chat(CHAT, ASK))

    audit.obj("AsyncWorkersAI (used)", client)
    await client.aclose()
    finish(audit, caplog)


# -- LangChain -------------------------------------------------------------------------------------


class LangChainRecorder(LCCallbackHandler):
    """Records every callback's arguments (``serialized`` included) as text."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit
        self.calls = 0

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        for i, arg in enumerate(args):
            self.audit.text(f"langchain {name} arg {i}", json.dumps(arg, default=repr))
            self.audit.text(f"langchain {name} arg {i} repr", repr(arg))
        self.audit.text(f"langchain {name} kwargs", json.dumps(kwargs, default=repr))
        if isinstance(kwargs.get("error"), BaseException):
            self.audit.error(f"langchain {name} error", kwargs["error"])

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self._record("on_chat_model_start", serialized, messages, **kwargs)

    def on_llm_start(self, serialized: Any, prompts: Any, **kwargs: Any) -> None:
        self._record("on_llm_start", serialized, prompts, **kwargs)

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self._record("on_llm_new_token", token, **kwargs)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self._record("on_llm_end", response, **kwargs)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self._record("on_llm_error", error=error, **kwargs)


def test_langchain_chat_model_never_shows_the_token(
    srv: LocalServer, closed_url: str, audit: Audit, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = LangChainRecorder(audit)
    config: Any = {"callbacks": [recorder]}
    llm = ChatWorkersAI(**connection(srv), model=CHAT, temperature=0.1, max_tokens=16, stop=["."])
    audit.obj("ChatWorkersAI (fresh)", llm)
    audit.obj("invoke", llm.invoke("hi", config=config))
    audit.obj("stream", list(llm.stream([HumanMessage("hi")], config=config)))
    audit.obj("batch", llm.batch(["a", "b"], config=config))
    audit.obj(
        "with_structured_output",
        llm.with_structured_output(
            {"title": "T", "type": "object", "properties": {"a": {"type": "string"}}}
        ),
    )

    async def async_calls() -> None:
        audit.obj("ainvoke", await llm.ainvoke("hi", config=config))
        audit.obj("astream", [c async for c in llm.astream("hi", config=config)])
        srv.inject("rate_limit", count=1, retry_after=0)
        audit.obj("ainvoke after a 429", await llm.ainvoke("hi", config=config))
        srv.inject("error", status=500, code=3001, message="boom", retry_after=0, count=3)
        await audit.aexpect(ServerError, "lc 500 x3", lambda: llm.ainvoke("hi", config=config))

    asyncio.run(async_calls())
    srv.inject("error", status=503, code=3001, message="down", retry_after=0, count=3)
    audit.expect(ServerError, "lc stream 503 x3", lambda: llm.stream("hi", config=config))
    srv.inject("malformed_event", at=1)
    audit.expect(StreamError, "lc malformed", lambda: llm.stream("hi", config=config))

    wrong = ChatWorkersAI(**connection(srv, WRONG_TOKEN), model=CHAT)
    audit.obj("ChatWorkersAI (wrong token)", wrong)
    audit.expect(AuthenticationError, "lc 401", lambda: wrong.invoke("hi", config=config))
    audit.expect(AuthenticationError, "lc 401 stream", lambda: wrong.stream("hi", config=config))
    refused = ChatWorkersAI(account_id=ACCOUNT, api_token=TOKEN, base_url=closed_url, max_retries=0)
    audit.expect(APIConnectionError, "lc refused", lambda: refused.invoke("hi", config=config))
    slow = ChatWorkersAI(**connection(srv), timeout=0.2, max_retries=0)
    srv.inject("latency", delay=1.0)
    audit.expect(APITimeoutError, "lc timeout", lambda: slow.invoke("hi", config=config))

    audit.obj("ChatWorkersAI (used)", llm)
    audit.obj("ChatWorkersAI sync client", llm.sync_client())
    assert recorder.calls > 10
    finish(audit, caplog)


def test_langchain_embeddings_never_show_the_token(
    srv: LocalServer, closed_url: str, audit: Audit, caplog: pytest.LogCaptureFixture
) -> None:
    embeddings = WorkersAIEmbeddings(**connection(srv), model=EMBED, batch_size=2)
    audit.obj("WorkersAIEmbeddings (fresh)", embeddings)
    audit.text("embed_documents", repr(embeddings.embed_documents(["a", "b", "c"])[0][:4]))
    audit.text("embed_query", repr(embeddings.embed_query("q")[:4]))
    audit.text("aembed", repr(asyncio.run(embeddings.aembed_documents(["a", "b", "c"]))[0][:4]))
    srv.inject("error", status=500, code=3001, message="boom", retry_after=0, count=3)
    audit.expect(ServerError, "lc embed 500 x3", lambda: embeddings.embed_query("q"))
    wrong = WorkersAIEmbeddings(**connection(srv, WRONG_TOKEN))
    audit.expect(AuthenticationError, "lc embed 401", lambda: wrong.embed_documents(["a"]))
    audit.expect(AuthenticationError, "lc aembed 401", lambda: asyncio.run(wrong.aembed_query("a")))
    refused = WorkersAIEmbeddings(account_id=ACCOUNT, api_token=TOKEN, base_url=closed_url)
    refused.max_retries = 0
    audit.expect(APIConnectionError, "lc embed refused", lambda: refused.embed_query("q"))
    audit.obj("WorkersAIEmbeddings (used)", embeddings)
    finish(audit, caplog)


# -- LlamaIndex ------------------------------------------------------------------------------------


def audit_callbacks(audit: Audit, recorder: CallbackRecorder) -> int:
    """Every LlamaIndex callback payload the recorder saw goes to ``audit``; returns how many
    events started."""
    for phase, event_type, payload, _ in recorder.events:
        audit.text(f"llama callback {phase} {event_type}", repr(payload))
        audit.text(f"llama callback {phase} {event_type} json", json.dumps(payload, default=repr))
    return len([event for event in recorder.events if event[0] == "start"])


class SpanRecorder(BaseSpanHandler[Any]):
    _seen: list[str] = PrivateAttr(default_factory=list)  # its __init__ takes no new fields

    @classmethod
    def class_name(cls) -> str:
        return "SecuritySpanRecorder"

    def new_span(
        self,
        id_: str,
        bound_args: Any,
        instance: Any = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._seen.append(f"{id_} {bound_args.arguments!r} {instance!r} {tags!r}")

    def prepare_to_exit_span(
        self, id_: str, bound_args: Any, instance: Any = None, result: Any = None, **kwargs: Any
    ) -> None:
        self._seen.append(f"{id_} exit {result!r}")

    def prepare_to_drop_span(
        self, id_: str, bound_args: Any, instance: Any = None, err: Any = None, **kwargs: Any
    ) -> None:
        self._seen.append(f"{id_} drop {err!r} {err}")


@contextmanager
def instrumented(audit: Audit) -> Iterator[None]:
    """Every LlamaIndex instrumentation event and span while the block runs goes to ``audit``."""
    dispatcher = get_dispatcher()
    events, spans = EventRecorder(), SpanRecorder()
    dispatcher.add_event_handler(events)
    dispatcher.add_span_handler(spans)
    try:
        yield
    finally:
        dispatcher.event_handlers.remove(events)
        dispatcher.span_handlers.remove(spans)
        assert events.events and spans._seen, "LlamaIndex instrumentation recorded nothing"
        for event in events.events:
            name = f"llama event {type(event).__name__}"
            audit.text(name, repr(event))
            audit.attempt(f"{name} dict", event.dict)
            audit.attempt(f"{name} json", lambda e=event: e.model_dump_json(fallback=repr))
        for span in spans._seen:
            audit.text("llama span", span)


def test_llama_index_llm_never_shows_the_token(
    srv: LocalServer,
    closed_url: str,
    audit: Audit,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(llama_metadata, "model_spec", lambda name: None)  # a catalog search
    recorder = CallbackRecorder()
    manager = CallbackManager([recorder])
    llm = LlamaWorkersAI(**connection(srv), model=UNKNOWN_CHAT, callback_manager=manager)
    messages = [ChatMessage(role="user", content="hi")]
    with instrumented(audit):
        audit.obj("LlamaIndex WorkersAI (fresh)", llm)  # metadata: a catalog search
        audit.obj("complete", llm.complete("hi"))
        audit.obj("chat", llm.chat(messages))
        audit.obj("stream_chat", list(llm.stream_chat(messages)))
        audit.obj("stream_complete", list(llm.stream_complete("hi")))

        async def async_calls() -> None:
            audit.obj("acomplete", await llm.acomplete("hi"))
            audit.obj("achat", await llm.achat(messages))
            audit.obj("astream_chat", [r async for r in await llm.astream_chat(messages)])
            srv.inject("error", status=500, code=3001, message="boom", retry_after=0, count=3)
            await audit.aexpect(ServerError, "li achat 500 x3", lambda: llm.achat(messages))

        asyncio.run(async_calls())
        srv.inject("rate_limit", count=1, retry_after=0)
        audit.obj("complete after a 429", llm.complete("hi"))
        srv.inject("cut_stream", after=3)
        audit.expect(StreamError, "li cut stream", lambda: llm.stream_complete("hi"))

        wrong = LlamaWorkersAI(**connection(srv, WRONG_TOKEN), model=UNKNOWN_CHAT)
        audit.obj("LlamaIndex WorkersAI (wrong token; catalog search fails)", wrong)
        audit.expect(AuthenticationError, "li 401", lambda: wrong.complete("hi"))
        audit.expect(AuthenticationError, "li 401 stream", lambda: wrong.stream_chat(messages))
        refused = LlamaWorkersAI(
            account_id=ACCOUNT, api_token=TOKEN, base_url=closed_url, max_retries=0
        )
        audit.expect(APIConnectionError, "li refused", lambda: refused.chat(messages))
        slow = LlamaWorkersAI(**connection(srv), timeout=0.2, max_retries=0)
        srv.inject("latency", delay=1.0)
        audit.expect(APITimeoutError, "li timeout", lambda: slow.complete("hi"))
    audit.obj("LlamaIndex WorkersAI (used)", llm)
    audit.obj("LlamaIndex WorkersAI metadata", llm.metadata)
    assert audit_callbacks(audit, recorder) > 5
    finish(audit, caplog)


def test_llama_index_embedding_never_shows_the_token(
    srv: LocalServer, closed_url: str, audit: Audit, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = CallbackRecorder()
    embedding = WorkersAIEmbedding(
        **connection(srv), embed_batch_size=2, callback_manager=CallbackManager([recorder])
    )
    with instrumented(audit):
        audit.obj("WorkersAIEmbedding (fresh)", embedding)
        audit.text("text", repr(embedding.get_text_embedding("a")[:4]))
        audit.text("query", repr(embedding.get_query_embedding("q")[:4]))
        audit.text("batch", repr(len(embedding.get_text_embedding_batch(["a", "b", "c"]))))
        audit.text(
            "async", repr(asyncio.run(embedding.aget_text_embedding_batch(["a", "b", "c"]))[0][:2])
        )
        srv.inject("error", status=500, code=3001, message="boom", retry_after=0, count=3)
        audit.expect(ServerError, "li embed 500 x3", lambda: embedding.get_query_embedding("q"))
        wrong = WorkersAIEmbedding(**connection(srv, WRONG_TOKEN))
        audit.expect(AuthenticationError, "li embed 401", lambda: wrong.get_text_embedding("a"))
        audit.expect(
            AuthenticationError,
            "li aembed 401",
            lambda: asyncio.run(wrong.aget_query_embedding("a")),
        )
    audit.obj("WorkersAIEmbedding (used)", embedding)
    assert audit_callbacks(audit, recorder) > 2
    finish(audit, caplog)


# -- exceptions and what they chain ----------------------------------------------------------------


def _transport_failures(srv: LocalServer, closed_url: str) -> list[WorkersAIError]:
    failures: list[WorkersAIError] = []
    with WorkersAI(account_id=ACCOUNT, api_token=TOKEN, base_url=closed_url, max_retries=0) as c:
        with pytest.raises(APIConnectionError) as refused:
            c.chat(CHAT, ASK)
        failures.append(refused.value)
    with WorkersAI(**connection(srv, timeout=0.2, max_retries=0)) as c:
        srv.inject("latency", delay=1.0)
        with pytest.raises(APITimeoutError) as timed_out:
            c.chat(CHAT, ASK)
        failures.append(timed_out.value)
    return failures


def test_our_exceptions_own_attributes_never_reach_the_token(
    srv: LocalServer, closed_url: str
) -> None:
    for error in _transport_failures(srv, closed_url):
        assert exception_chain(error)[1:], "the httpx error is kept as the cause"
        found = [p for p, text in reachable_strings(vars(error)) if TOKEN in text]
        assert not found, f"{type(error).__name__}.__dict__ reaches the token at {found}"


def test_chained_exceptions_never_reach_the_token(srv: LocalServer, closed_url: str) -> None:
    for error in _transport_failures(srv, closed_url):
        for item in exception_chain(error):
            found = [p for p, text in reachable_strings(vars(item)) if TOKEN in text]
            assert not found, f"{type(item).__name__}.__dict__ reaches the token at {found}"


# -- pickles ---------------------------------------------------------------------------------------


def _fresh(cls: type[Any], server: LocalServer) -> Any:
    return cls(**connection(server))


def _works(obj: Any) -> None:
    """One real call with the object; it succeeds only with the right token."""
    if isinstance(obj, WorkersAI):
        obj.embed(EMBED, "x")
    elif isinstance(obj, AsyncWorkersAI):

        async def call() -> None:
            async with obj:
                await obj.embed(EMBED, "x")

        asyncio.run(call())
    elif isinstance(obj, ChatWorkersAI):
        obj.invoke("hi")
    elif isinstance(obj, WorkersAIEmbeddings):
        obj.embed_query("x")
    elif isinstance(obj, LlamaWorkersAI):
        obj.complete("hi")
    else:
        obj.get_text_embedding("x")


@pytest.mark.parametrize("used", [False, True], ids=["fresh", "used"])
@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_a_pickle_holds_the_token_only_to_stay_usable(
    srv: LocalServer, cls: type[Any], used: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adapters pickle their token on purpose (LazyClients.__reduce__: frameworks ship model
    objects to worker processes, whose copies must work); the core clients are not meant to be
    pickled. Whatever a class does, a pickle that carries the token must give back a working
    object, and one that does not must not be usable by accident with another token."""
    for name in ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    obj = _fresh(cls, srv)
    if used:
        _works(obj)  # after a call, the object owns a pool
    try:
        data = pickle.dumps(obj)
    except (TypeError, pickle.PicklingError, AttributeError):
        return  # not picklable: nothing carries the token
    restored = pickle.loads(data)
    assert TOKEN not in repr(restored)
    if TOKEN.encode() in data:
        _works(restored)
    else:
        with pytest.raises(WorkersAIError):
            _works(restored)


# -- plain http ------------------------------------------------------------------------------------


def _refusal_cases() -> list[Any]:
    return [
        pytest.param(
            cls,
            id=cls.__qualname__ if cls in CORE_CLASSES else f"{cls.__module__}.{cls.__name__}",
        )
        for cls in ALL_CLASSES
    ]


@pytest.mark.parametrize("cls", _refusal_cases())
@pytest.mark.parametrize(
    "url", ["http://example.com/client/v4", "http://10.1.2.3/client/v4", "http://8.8.8.8:80/x"]
)
def test_plain_http_to_a_remote_host_is_a_configuration_error(cls: type[Any], url: str) -> None:
    with pytest.raises(ConfigurationError, match="https") as refused:
        cls(account_id=ACCOUNT, api_token=TOKEN, base_url=url)
    assert url in str(refused.value)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_plain_http_to_a_remote_host_is_refused_whatever_the_error_type(cls: type[Any]) -> None:
    with pytest.raises(ValueError, match="https"):
        cls(account_id=ACCOUNT, api_token=TOKEN, base_url="http://example.com/client/v4")


@pytest.mark.parametrize("cls", CORE_CLASSES, ids=lambda c: c.__qualname__)
def test_plain_http_gateway_to_a_remote_host_is_refused(cls: type[Any]) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        cls(account_id=ACCOUNT, api_token=TOKEN, gateway_url="http://gateway.example.com/v1")
    # The escape hatch the message names.
    cls(
        account_id=ACCOUNT,
        api_token=TOKEN,
        base_url="http://example.com/client/v4",
        allow_insecure_http=True,
    )


@pytest.mark.parametrize("cls", ADAPTER_CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_a_refused_setting_does_not_echo_the_token(cls: type[Any]) -> None:
    audit = Audit()
    with pytest.raises(ValueError) as refused:
        cls(api_key=TOKEN, base_url="http://example.com")
    audit.error("refused construction", refused.value)
    assert not audit.leaks(), "\n".join(audit.leaks())


@pytest.mark.parametrize("cls", ADAPTER_CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_an_invalid_field_does_not_echo_the_token(cls: type[Any]) -> None:
    audit = Audit()
    with pytest.raises(ValidationError) as refused:
        cls(account_id=ACCOUNT, api_token=TOKEN, timeout=-1)
    audit.error("invalid timeout", refused.value)
    assert not audit.leaks(), "\n".join(audit.leaks())


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8787/client/v4", "http://localhost:8787/client/v4", "http://[::1]/x"],
)
def test_plain_http_to_loopback_is_accepted(cls: type[Any], url: str) -> None:
    obj = cls(account_id=ACCOUNT, api_token=TOKEN, base_url=url)
    assert TOKEN not in repr(obj)
