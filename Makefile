PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps run test mypy pytest test-mypyc soak bench clean

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

test: pytest mypy test-mypyc

# The optional compiled build (setup.py, docs/performance.md "mypyc"): the hot
# core modules compiled by mypyc (with .venv's mypy) into build/mypyc-lib, then
# the core tests run again in a copy of the tree (build/mypyc) holding them, so
# that the copy's `roll` is the compiled one, in pytest and in the servers the
# tests start, while .venv's editable install stays pure.
MYPYC_LIB := build/mypyc-lib
MYPYC_TREE := build/mypyc
# The tests of the compiled modules' work, and TypedRoll on them (the whole
# suite passes too, minutes more: `make test-mypyc MYPYC_TESTS=tests`).
MYPYC_TESTS := tests/test_compiled.py tests/test_wire.py tests/test_protocol.py tests/test_app.py \
	tests/test_response.py tests/test_request.py tests/test_timeouts.py tests/test_limits.py \
	tests/test_streaming.py tests/test_http_semantics.py tests/test_expect.py tests/test_body.py \
	tests/test_routing.py tests/test_failures.py tests/test_after_response.py tests/test_shutdown.py \
	tests/test_websocket.py tests/typed/test_typed_app.py tests/typed/test_errors.py \
	tests/typed/test_returns.py tests/typed/test_sse.py tests/typed/test_after_response.py

$(MYPYC_LIB)/.built: $(STAMP) setup.py mypy.ini $(wildcard roll/*.py)
	ROLL_MYPYC=1 MYPY_CACHE_DIR=build/mypyc-cache $(BIN)/python setup.py -q \
		build_ext --build-lib $(MYPYC_LIB) --build-temp build/mypyc-temp
	touch $@

test-mypyc: $(MYPYC_LIB)/.built system-deps
	rm -rf $(MYPYC_TREE) && mkdir -p $(MYPYC_TREE)
	tar -cf - --exclude=__pycache__ --exclude=.venvs --exclude=results \
		roll tests bench examples stubs docs tools pyproject.toml setup.py mypy.ini README.md \
		| tar -xf - -C $(MYPYC_TREE)
	cp $(MYPYC_LIB)/roll/*.so $(MYPYC_TREE)/roll/
	cd $(MYPYC_TREE) && ROLL_MYPYC=1 $(CURDIR)/$(BIN)/python -m pytest -q $(MYPYC_TESTS)

# The soak and load tests (tests/soak/), a few minutes: not part of `make test`.
soak: install
	$(BIN)/pytest -q -m soak tests/soak

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) *.egg-info build
