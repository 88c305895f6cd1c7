# The two commands a newcomer needs: `make test` (and, later, `make demo`).
# Each bootstraps .venv at the repo root from nothing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench soak lint unit standard local live clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev,bench]'
	touch $(STAMP)

## demo: LangChain and LlamaIndex on the local server's real model (or Cloudflare, with credentials)
demo: $(STAMP)
	$(BIN)/python examples/demo.py

## test: lint, type-check and run every test tier (live tests skip without credentials)
test: $(STAMP) lint
	$(BIN)/python -m pytest tests

## bench: the client-cost benchmarks against the peers (writes bench/RESULTS.md, ~6 min)
bench: $(STAMP)
	$(BIN)/python bench/run.py

## soak: 20,000 mixed async calls at concurrency 64 with 5% injected faults (not part of `make test`)
soak: $(STAMP)
	$(BIN)/python bench/soak.py --calls 20000 --concurrency 64 --fault-rate 0.05

lint: $(STAMP)
	$(BIN)/ruff check integrations tests examples bench scripts
	$(BIN)/ruff format --check integrations tests examples bench scripts
	$(BIN)/mypy

unit standard local live: $(STAMP)
	$(BIN)/python -m pytest tests/$@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
