# Two commands: `make run` serves Parley with a demo page, `make test` checks everything
# (on SQLite; `make test-postgres` runs the database tests again on PostgreSQL; CI runs both).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test test-postgres test-quick lint bench clean embed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app service serve

lint: $(STAMP)
	$(BIN)/ruff check service tests bench wsgi.py
	$(BIN)/ruff format --check service tests bench wsgi.py
	$(BIN)/mypy
	$(BIN)/mypy tests/e2e
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

# The tests that touch the database (marked `db`) again, on the PostgreSQL on 127.0.0.1:5432:
# a database per test worker, reset for each test (tests/backends.py). `make test` already
# ran the ones written for PostgreSQL (marked `postgres`); the SQLite-only ones are skipped.
test-postgres: $(STAMP)
	TEST_DATABASE=postgresql $(BIN)/pytest -n auto -m "db and not postgres" $(PYTEST_ARGS)

test-quick: lint
	$(BIN)/pytest -n auto -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/thread_read.py
	$(BIN)/python bench/admin_queue.py
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Rebuild the minified loader after changing service/static/embed.js (needs npm).
# The preamble records the source's hash; a test checks the two are in step.
embed:
	npm install --silent --prefix /tmp/parley-terser terser
	{ echo "/*! Parley embed.min.js from embed.js sha256:$$(sha256sum service/static/embed.js | cut -c1-64) */"; \
	  /tmp/parley-terser/node_modules/.bin/terser service/static/embed.js -c passes=3 -m --ecma 2017; \
	} > service/static/embed.min.js.tmp && mv service/static/embed.min.js.tmp service/static/embed.min.js
