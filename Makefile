# The Social Channel Registry. Quick start: `make run`, then `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STATIC := registry/static
NHSUK := node_modules/nhsuk-frontend/dist/nhsuk
# PostgreSQL leg of the test suite; `make test` skips it, with a notice, when nothing answers here.
REGISTRY_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install run test test-sqlite test-postgres bench lint typecheck assets clean

install: $(VENV)/.installed assets

$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: $(STATIC)/css/app.css $(STATIC)/nhsuk/.copied

$(STATIC)/css/app.css: registry/assets/app.scss node_modules/.installed
	mkdir -p $(STATIC)/css
	node_modules/.bin/sass --load-path=node_modules --style=compressed --no-source-map --quiet-deps $< $@

$(STATIC)/nhsuk/.copied: node_modules/.installed
	rm -rf $(STATIC)/nhsuk
	mkdir -p $(STATIC)/nhsuk
	cp -R $(NHSUK)/assets/. $(STATIC)/nhsuk/
	cp $(NHSUK)/nhsuk-frontend.min.js $(STATIC)/nhsuk/
	touch $@

run: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) demo sign-ins
	$(FLASK) run --host 127.0.0.1 --port 5000

# The two legs run side by side (each is one process, and their databases, ports and folders are
# their own); each leg's output is printed whole when it ends.
test: install lint
	$(MAKE) --no-print-directory -j2 --output-sync=target BOTH_LEGS=1 test-sqlite test-postgres

# The SQLite leg measures coverage (lines and branches, settings in pyproject.toml) and fails when
# line coverage is under COVERAGE_LINE_FLOOR; the PostgreSQL leg runs the same tests without it.
# With PYTEST_ARGS (a part of the suite) the figures are printed but the floor is not applied.
# Each leg ends with its 20 slowest tests, so the suite's time can be followed from CI's output.
# Checks marked one_leg (what a browser sees: layout, axe, focus, keyboard, timers) run once when `make test`
# runs both legs (BOTH_LEGS): on the leg the marker names, else the SQLite one (it measures coverage); a leg run
# alone runs them all.
COVERAGE_LINE_FLOOR := 97
# Both legs cache bytecode (in __pycache__, ignored by git) even where the environment asks Python not
# to: otherwise pytest rewrites every test module, and each command the tests start compiles the
# Registry again, on every run.
test-sqlite test-postgres: export PYTHONDONTWRITEBYTECODE :=
test-sqlite:
	@echo "== Test suite on SQLite, with coverage =="
	rm -f .coverage .coverage.*
	REGISTRY_TEST_DATABASE_URL= REGISTRY_TEST_BESIDE_POSTGRES=$$([ -n "$(BOTH_LEGS)" ] && $(BIN)/python -m tests.pg_available "$(REGISTRY_TEST_POSTGRES_URL)" && echo 1) \
	  $(BIN)/coverage run -m pytest --durations=20 $(PYTEST_ARGS)
	$(BIN)/coverage report
	$(BIN)/python -m tests.coverage_floor $(if $(PYTEST_ARGS),0,$(COVERAGE_LINE_FLOOR))

test-postgres:
	@if $(BIN)/python -m tests.pg_available "$(REGISTRY_TEST_POSTGRES_URL)"; then \
	  echo "== Test suite on PostgreSQL =="; \
	  REGISTRY_TEST_DATABASE_URL="$(REGISTRY_TEST_POSTGRES_URL)" REGISTRY_TEST_BESIDE_SQLITE=$(BOTH_LEGS) $(BIN)/pytest --durations=20 $(PYTEST_ARGS); \
	else \
	  echo "NOTICE: PostgreSQL leg skipped: nothing answers at $(REGISTRY_TEST_POSTGRES_URL)"; \
	fi

bench: install
	$(BIN)/python -m tests.bench

# Gates (pyproject.toml holds their settings): lint rules, the formatter and the type checker.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules $(STATIC)/css $(STATIC)/nhsuk instance .mypy_cache .coverage .coverage.*
