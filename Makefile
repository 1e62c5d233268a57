# The README's two commands: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: system setup demo test check lint clean-state

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# The sandbox needs Debian's bubblewrap (bwrap) and util-linux (setpriv, prlimit).
system:
	@if ! command -v bwrap >/dev/null || ! command -v setpriv >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq bubblewrap util-linux; \
	  else echo "please run: sudo apt-get install -y bubblewrap util-linux" >&2; exit 1; fi; \
	fi

setup: system $(STAMP)

demo: setup
	$(BIN)/autograder demo

check: setup
	$(BIN)/autograder check

lint: setup
	$(BIN)/ruff check autograder tests tools benchmarks
	$(BIN)/ruff format --check autograder tests tools benchmarks

test: setup lint
	$(BIN)/autograder check
	$(BIN)/python -m pytest

clean-state:
	rm -rf .autograder .autograder-demo
