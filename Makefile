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

# The sandbox needs Debian's bubblewrap (bwrap) and util-linux (setpriv, prlimit); the
# PostgreSQL gradebook test starts a throw-away server from Debian's postgresql; the
# browser tests drive Debian's Chromium (Playwright's own browser download does not work
# on our machines); the course's JupyterHub needs a proxy (Debian's
# node-configurable-http-proxy) and the accounts tools (passwd: useradd, chpasswd).
SYSTEM_PACKAGES := bubblewrap util-linux postgresql chromium chromium-driver node-configurable-http-proxy passwd
system:
	@if ! command -v bwrap >/dev/null || ! command -v setpriv >/dev/null \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! test -x /usr/bin/chromium \
	    || ! command -v configurable-http-proxy >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(SYSTEM_PACKAGES); \
	  else echo "please run: sudo apt-get install -y $(SYSTEM_PACKAGES)" >&2; exit 1; fi; \
	fi

setup: system $(STAMP)

demo: setup
	$(BIN)/autograder demo

check: setup
	$(BIN)/autograder check

lint: setup
	$(BIN)/ruff check autograder tests tools benchmarks
	$(BIN)/ruff format --check autograder tests tools benchmarks
	$(BIN)/mypy

# Test files run two at a time (pytest-xdist, one file per worker so that module fixtures are
# built once): most slow tests wait on kernels, servers and browsers, not on a core.
PYTEST_WORKERS ?= 2
test: setup lint
	$(BIN)/autograder check
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

clean-state:
	rm -rf .autograder .autograder-demo
