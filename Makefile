PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps run test mypy pytest soak bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Real servers and browsers the tests start (tools/debian-packages).
system-deps:
	sh tools/system-deps.sh

run: install
	$(BIN)/python -m examples.typed_app

pytest: install system-deps
	$(BIN)/pytest -q

mypy: install
	$(BIN)/mypy

test: pytest mypy

# The soak and load tests (tests/soak/), a few minutes: not part of `make test`.
soak: install
	$(BIN)/pytest -q -m soak tests/soak

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) *.egg-info
