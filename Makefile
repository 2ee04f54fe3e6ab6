# followup: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
# Node tools pinned by tools/openapi/package-lock.json: the OpenAPI linter, openapi-typescript, tsc.
TOOLS := tools/openapi
NODE_BIN := $(TOOLS)/node_modules/.bin
NPM_STAMP := $(TOOLS)/node_modules/.installed-stamp

.PHONY: install run test lint format openapi docs check-openapi check-docs check-migrations bench check clean \
	npm-tools lint-openapi sdk sdk-python sdk-typescript

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

$(NPM_STAMP): $(TOOLS)/package.json $(TOOLS)/package-lock.json
	cd $(TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

npm-tools: $(NPM_STAMP) ## install the pinned Node tools (npm ci in tools/openapi)

lint-openapi: $(NPM_STAMP) ## lint the committed openapi/openapi.json with Redocly CLI (0 errors allowed)
	cd $(TOOLS) && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		./node_modules/.bin/redocly lint --config redocly.yaml ../../openapi/openapi.json

sdk-python: install ## generate a Python client from the committed spec and run the quick start through it
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(BIN)/openapi-python-client generate --path openapi/openapi.json --meta none \
		--config sdk/python/config.yaml --output-path "$$tmp/followup_client" && \
	MYPYPATH="$$tmp" $(BIN)/mypy --strict --follow-imports=silent sdk/python/quickstart.py && \
	PYTHONPATH="$$tmp" $(BIN)/python scripts/with_live_server.py -- $(BIN)/python sdk/python/quickstart.py

sdk-typescript: install $(NPM_STAMP) ## generate TypeScript types from the spec, compile and run the quick start
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(NODE_BIN)/openapi-typescript openapi/openapi.json --default-non-nullable=false \
		--output "$$tmp/schema.d.ts" && \
	cp sdk/typescript/quickstart.mts sdk/typescript/tsconfig.json "$$tmp/" && \
	ln -s "$(CURDIR)/$(TOOLS)/node_modules" "$$tmp/node_modules" && \
	$(NODE_BIN)/tsc --project "$$tmp" && \
	$(BIN)/python scripts/with_live_server.py -- node "$$tmp/dist/quickstart.mjs"

sdk: sdk-python sdk-typescript ## both SDK quick starts

check-docs: install ## fail when docs/policy.md differs from the rule registry
	$(BIN)/python -m app.policy.docs --check docs/policy.md

docs: install ## regenerate docs/policy.md from the rule registry
	$(BIN)/python -m app.policy.docs --write docs/policy.md

bench: install ## benchmarks (figures in README.md); the webhook bench needs PostgreSQL
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/webhooks.py

check-migrations: install ## alembic check on fresh SQLite and PostgreSQL databases
	$(BIN)/python scripts/check_migrations.py

check: lint check-openapi lint-openapi check-docs check-migrations sdk test

clean:
	rm -rf $(VENV) $(TOOLS)/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis followup.db*
