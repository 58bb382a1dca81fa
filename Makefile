# Two commands: `make run` serves Parley with a demo page, `make test` checks everything
# (on SQLite; `make test-postgres` runs the database tests again on PostgreSQL; CI runs both).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test test-postgres test-quick lint bench clean embed translations

# Two stamps, so the first `make run` installs only what serving needs: RUN_STAMP is the
# package and its dependencies (`pip install -e .`, waitress among them); TEST_STAMP adds
# the `test` extra (pytest, ruff, mypy, Playwright, gunicorn, psycopg, redis...) on top.
# Either is made again when pyproject.toml changes.
RUN_STAMP := $(VENV)/.run-stamp
TEST_STAMP := $(VENV)/.test-stamp

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

run: $(RUN_STAMP)
	$(BIN)/flask --app service serve

lint: $(TEST_STAMP)
	$(BIN)/ruff check service tests bench wsgi.py
	$(BIN)/ruff format --check service tests bench wsgi.py
	$(BIN)/mypy
	$(BIN)/mypy tests/e2e
	$(BIN)/lint-imports --no-cache

test: $(TEST_STAMP) lint
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

# The tests that touch the database (marked `db`) again, on the PostgreSQL on 127.0.0.1:5432:
# a database per test worker, reset for each test (tests/backends.py). `make test` already
# ran the ones written for PostgreSQL (marked `postgres`); the SQLite-only ones are skipped.
test-postgres: $(TEST_STAMP)
	TEST_DATABASE=postgresql $(BIN)/pytest -n auto -m "db and not postgres" $(PYTEST_ARGS)

test-quick: $(TEST_STAMP) lint
	$(BIN)/pytest -n auto -m "not slow" $(PYTEST_ARGS)

# `make bench BENCH_ARGS=--quick` is a smoke check of every script (about 4 minutes); the full
# run takes about an hour (docs/performance.md). ceiling.py and growth.py drive gunicorn with
# wrk (Debian: apt-get install wrk).
bench: $(TEST_STAMP)
	@command -v wrk >/dev/null || { echo "make bench: wrk is missing (apt-get install wrk)"; exit 1; }
	$(BIN)/python bench/thread_read.py $(BENCH_ARGS)
	$(BIN)/python bench/admin_queue.py $(BENCH_ARGS)
	$(BIN)/python bench/load.py $(BENCH_ARGS)
	$(BIN)/python bench/ceiling.py $(BENCH_ARGS)
	$(BIN)/python bench/growth.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Rebuild the minified loader and its chunks (embed-NAME.js, loaded on first use) after changing
# service/static/embed*.js (needs npm). Each preamble records its source's hash; a test
# (tests/test_loader_size.py) checks they are in step.
EMBED_SOURCES = $(filter-out %.min.js,$(wildcard service/static/embed*.js))
embed:
	npm install --silent --prefix /tmp/parley-terser terser
	for src in $(EMBED_SOURCES); do \
	  out=$${src%.js}.min.js; \
	  { echo "/*! Parley $${out##*/} from $${src##*/} sha256:$$(sha256sum $$src | cut -c1-64) */"; \
	    /tmp/parley-terser/node_modules/.bin/terser $$src -c passes=3 -m --ecma 2017; \
	  } > $$out.tmp && mv $$out.tmp $$out || exit 1; \
	done

# Extract every marked message (babel.cfg) into service/translations/messages.pot, bring
# each language's messages.po in step (new messages empty, removed ones dropped), and
# compile the .mo files. Then translate what is empty and run it again: tests/test_i18n.py
# fails on any message missing, empty or fuzzy in a catalogue (docs/languages.md).
TRANSLATIONS = service/translations
translations: $(RUN_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project Parley --msgid-bugs-address '' -o $(TRANSLATIONS)/messages.pot service templates
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics
