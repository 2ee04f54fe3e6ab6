# followup: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: install run test lint format openapi docs check-openapi check-docs check-migrations bench check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev extras

run: install ## migrate and serve API + worker on SQLite at http://127.0.0.1:8000
	$(BIN)/followup migrate
	$(BIN)/followup serve

test: install ## the whole suite (SQLite; PostgreSQL too when FOLLOWUP_TEST_DATABASE_URL is set)
	$(BIN)/pytest

lint: install ## ruff check, ruff format --check, mypy strict on app/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

openapi: install ## regenerate openapi/openapi.json
	$(BIN)/followup openapi > openapi/openapi.json

check-openapi: install ## fail when openapi/openapi.json differs from the code
	$(BIN)/followup openapi | diff -u openapi/openapi.json - > /dev/null \
		|| (echo "openapi/openapi.json is stale: run 'make openapi'" && exit 1)

check-docs: install ## fail when docs/policy.md differs from the rule registry
	$(BIN)/python -m app.policy.docs --check docs/policy.md

docs: install ## regenerate docs/policy.md from the rule registry
	$(BIN)/python -m app.policy.docs --write docs/policy.md

bench: install ## every benchmark, 6-10 min (needs PostgreSQL; installs wrk if missing) -> bench/results/latest.json
	$(BIN)/python -m bench.run

check-migrations: install ## alembic check on fresh SQLite and PostgreSQL databases
	$(BIN)/python scripts/check_migrations.py

check: lint check-openapi check-docs check-migrations test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis followup.db*
