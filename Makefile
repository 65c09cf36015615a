# One task runner: a newcomer and CI run the same targets.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
# Two installs: what the chat's default (extractive) mode needs, and everything for development
# (tests, the llama.cpp LLM mode, which compiles llama-cpp-python, and the benchmark's peer).
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
PYTEST_ARGS ?=
SERVE_ARGS ?=

# Nothing calls home, nothing downloads a model at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-dev run serve test test-fast lint eval bench bench-scale bench-scale-smoke soak soak-short clean

$(STAMP_RUN): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU wheel of torch first: an open range would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	touch $(STAMP_RUN)

# axe-core: the accessibility checker the browser tests inject into the page (npm, into .venv)
AXE_CORE := axe-core@4.14.1
AXE_JS  := $(VENV)/node_modules/axe-core/axe.min.js

$(STAMP_DEV): $(STAMP_RUN)
	$(PIP) install -q -e '.[test,llamacpp,bench]'
	touch $(STAMP_DEV)

$(AXE_JS): | $(STAMP_RUN)
	npm install --prefix $(VENV) --no-save --no-audit --no-fund --loglevel=error $(AXE_CORE)

## make install: what `make run` needs (no LLM runtime); make install-dev: tests, llama.cpp, peer, axe-core
install: $(STAMP_RUN)

install-dev: $(STAMP_DEV) $(AXE_JS)

## make run: install, index data/articles, start the chat on http://127.0.0.1:7860
run: install
	$(VENV)/bin/newsrag ingest data/articles
	$(VENV)/bin/newsrag serve $(SERVE_ARGS)

serve: install
	$(VENV)/bin/newsrag serve $(SERVE_ARGS)

## make test: the whole suite (offline tier, Chroma server, llama.cpp server, browser, MultiHop-RAG)
test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$status

## make test-fast: the quick offline tier only
test-fast: install-dev
	$(PY) -m pytest -m "not slow and not server and not llm and not browser and not multihop" $(PYTEST_ARGS)

## make lint: ruff, and the import contracts of pyproject.toml (layers, no cycles)
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

eval: install
	$(VENV)/bin/newsrag eval all

## make bench: our ingestion and retrieval against the stock LlamaIndex pipeline, same run
bench: install-dev
	$(PY) -m eval.bench

## make bench-scale: a synthetic 100,000-chunk library (and 10,000), report and plot (long; not in CI)
bench-scale: install-dev
	$(PY) -m eval.bench_scale --sizes 10000 100000

## make bench-scale-smoke: the same measurements at two small sizes, about a minute (CI runs it)
bench-scale-smoke: install-dev
	$(PY) -m eval.bench_scale --smoke

## make soak: kill -9 at 20 random points, 32 clients for 60 s, a Chroma server restarted under load,
## two servers on one Chroma server racing for 10 rounds
soak: install-dev
	$(PY) -m eval.soak all

## make soak-short: the same scenarios in a couple of minutes (CI runs it through tests/test_soak.py)
soak-short: install-dev
	$(PY) -m eval.soak all --short

clean:
	rm -rf .newsrag .pytest_cache
