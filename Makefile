# followup: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(CURDIR)/$(BIN)/uv
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
# Node tools pinned by tools/openapi/package-lock.json: the OpenAPI linter, openapi-typescript, tsc.
TOOLS := tools/openapi
NODE_BIN := $(TOOLS)/node_modules/.bin
NPM_STAMP := $(TOOLS)/node_modules/.installed-stamp

# The lock files: exact versions with hashes, resolved from PyPI for every platform.
# requirements.lock is what the image runs; requirements-dev.lock adds the dev tools at
# the same versions; requirements-build.lock pins the build backend named in pyproject.toml.
LOCKS := requirements.lock requirements-dev.lock requirements-build.lock
COMPILE = $(UV) pip compile --quiet --no-config --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock'
BUILD_REQUIRES = $(CURDIR)/$(BIN)/python -c 'import tomllib; \
	print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
# $(call compile-locks,DIR,FLAGS): resolve the lock files in DIR, which holds pyproject.toml
# and the current locks (their pins are kept unless FLAGS has --upgrade).
define compile-locks
cd $(1) && $(COMPILE) $(2) pyproject.toml -o requirements.lock
cd $(1) && $(COMPILE) $(2) pyproject.toml --extra dev -c requirements.lock -o requirements-dev.lock
cd $(1) && $(BUILD_REQUIRES) | $(COMPILE) $(2) - -o requirements-build.lock
endef

.PHONY: install lock upgrade check-lock run test lint format openapi docs check-openapi \
	check-docs check-migrations bench check clean npm-tools lint-openapi sdk sdk-python \
	sdk-typescript

# uv comes from PyPI at the version and hashes the dev lock names, installed by the venv's pip.
$(UV):
	$(PYTHON) -m venv $(VENV)
	sed -n '/^uv==/,/[^\\]$$/p' requirements-dev.lock > $(VENV)/uv-requirement.txt
	$(BIN)/pip install --quiet --no-deps --require-hashes -r $(VENV)/uv-requirement.txt

$(STAMP): $(UV) requirements-dev.lock requirements-build.lock pyproject.toml
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes \
		requirements-dev.lock requirements-build.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) ## create .venv exactly as the lock files say, with the project editable

lock: $(UV) ## re-resolve the lock files after editing pyproject.toml (keeps other pins)
	$(call compile-locks,.,)

upgrade: $(UV) ## move every pin to the newest release pyproject.toml allows
	$(call compile-locks,.,--upgrade)

check-lock: $(UV) ## fail when the lock files are out of step with pyproject.toml
	rm -rf $(VENV)/lock-check && mkdir -p $(VENV)/lock-check
	cp pyproject.toml $(LOCKS) $(VENV)/lock-check/
	$(call compile-locks,$(VENV)/lock-check,)
	for lock in $(LOCKS); do \
		diff -u $$lock $(VENV)/lock-check/$$lock \
			|| { echo "$$lock is out of step with pyproject.toml: run 'make lock'"; exit 1; }; \
	done

run: install ## migrate and serve API + worker on SQLite at http://127.0.0.1:8000
	$(BIN)/followup migrate
	$(BIN)/followup serve

test: install ## the whole suite (SQLite; PostgreSQL too when FOLLOWUP_TEST_DATABASE_URL is set)
	$(BIN)/pytest

lint: install ## ruff check, ruff format --check, mypy strict on app/, hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

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

bench: install ## every benchmark, 6-10 min (needs PostgreSQL; installs wrk if missing) -> bench/results/latest.json
	$(BIN)/python -m bench.run

check-migrations: install ## alembic check on fresh SQLite and PostgreSQL databases
	$(BIN)/python scripts/check_migrations.py

check: check-lock lint check-openapi lint-openapi check-docs check-migrations sdk test

clean:
	rm -rf $(VENV) $(TOOLS)/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis followup.db*
