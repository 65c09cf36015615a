# One task runner: a newcomer and CI run the same targets.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
STAMP   := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

# Nothing calls home, nothing downloads a model at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install run serve test test-fast lint eval bench soak soak-short clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU wheel of torch first: an open range would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,llamacpp]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, index data/articles, start the chat on http://127.0.0.1:7860
run: install
	$(VENV)/bin/newsrag ingest data/articles
	$(VENV)/bin/newsrag serve

serve: install
	$(VENV)/bin/newsrag serve

## make test: the whole suite (offline tier, Chroma server, llama.cpp server, browser, MultiHop-RAG)
test: install
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$status

## make test-fast: the quick offline tier only
test-fast: install
	$(PY) -m pytest -m "not slow and not server and not llm and not browser and not multihop" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

eval: install
	$(VENV)/bin/newsrag eval all

bench: install
	$(PY) -m eval.bench

## make soak: kill -9 at 20 random points, 32 clients for 60 s, a Chroma server restarted under load
soak: install
	$(PY) -m eval.soak all

## make soak-short: the same scenarios in a couple of minutes (CI runs it through tests/test_soak.py)
soak-short: install
	$(PY) -m eval.soak all --short

clean:
	rm -rf .newsrag .pytest_cache
