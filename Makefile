# The README's two commands: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test check lint clean-state

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/autograder demo

check: setup
	$(BIN)/autograder check

lint: setup
	$(BIN)/ruff check autograder tests
	$(BIN)/ruff format --check autograder tests

test: setup lint
	$(BIN)/autograder check
	$(BIN)/python -m pytest

clean-state:
	rm -rf .autograder .autograder-demo
