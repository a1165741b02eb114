# Every target installs what it needs: a fresh clone needs only `make run` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
PORT ?= 3000
export PYTHONDONTWRITEBYTECODE := 1
export SAM_CLI_TELEMETRY := 0

.PHONY: chromium publish-web help install run test lint lint-template unit integration e2e contract openapi swagger-ui bench build deploy deploy-local clean tidepool-client
SWAGGER_UI_VERSION := 5.32.0
SWAGGER_UI_DIR := local/tidewater_local/swagger_ui

help:
	@echo "make run            the whole stack on http://127.0.0.1:$(PORT) (no Docker, no AWS)"
	@echo "make test           lint (ruff, mypy, template) and every test"
	@echo "make install        create or update .venv"
	@echo "make tidepool-client  Tidepool's client library (npm, pinned) for its e2e tests"
	@echo "make chromium       Debian's chromium, for the web app's browser tests"
	@echo "make lint           ruff and mypy"
	@echo "make lint-template  sam validate --lint and cfn-lint"
	@echo "make contract       schemathesis against the local stack (every operation, all checks)"
	@echo "make openapi        rewrite docs/openapi.json from the code"
	@echo "make swagger-ui     refresh the vendored Swagger UI (npm swagger-ui-dist, pinned)"
	@echo "make bench          the benchmarks (figures, one per line)"
	@echo "make build / deploy sam build / sam deploy --guided"
	@echo "make deploy-local   sam deploy into an AWS emulator (IAM enforced) and a smoke test"

# Re-installs only when pyproject.toml changed since the last install.
$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

$(SAM_VENV)/.installed:
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	# aws-sam-cli pins boto3 exactly: it lives in its own venv.
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli cfn-lint
	@touch $@

run: install
	$(BIN)/tidewater local --demo --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint-template: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1 --template template.yaml
	$(SAM_VENV)/bin/cfn-lint template.yaml

test: lint lint-template tidepool-client chromium
	$(BIN)/pytest -n 2 --dist loadscope
	$(MAKE) contract

# Tidepool's own client (tidepool-platform-client, pinned by package-lock.json), driven
# against the local stack by tests/e2e/test_tidepool_client.py. Reinstalled when the lock
# changes; node_modules is ignored by git.
TIDEPOOL_CLIENT := tests/tidepool_client
$(TIDEPOOL_CLIENT)/node_modules/.installed: $(TIDEPOOL_CLIENT)/package-lock.json
	cd $(TIDEPOOL_CLIENT) && npm ci --no-audit --no-fund --silent
	@touch $@

tidepool-client: $(TIDEPOOL_CLIENT)/node_modules/.installed

# The browser the web app's tests drive (Playwright, executable_path): Debian's own.
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)
chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# The published contract, generated from the functions' resolvers (a test fails on drift).
openapi: install
	PYTHONPATH=layers/core:local:. $(BIN)/python -m tidewater_local.openapi

# schemathesis over every operation of docs/openapi.json, against a fresh local stack.
contract: install
	PYTHONPATH=layers/core:local:. $(BIN)/python tools/contract.py

# Swagger UI's two assets, from npm, committed so that /docs works offline with no npm.
swagger-ui:
	rm -rf .tidewater/swagger-ui && mkdir -p .tidewater/swagger-ui
	cd .tidewater/swagger-ui && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) \
		&& tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz
	cp .tidewater/swagger-ui/package/{swagger-ui-bundle.js,swagger-ui.css,LICENSE,NOTICE} \
		$(SWAGGER_UI_DIR)/
	echo $(SWAGGER_UI_VERSION) > $(SWAGGER_UI_DIR)/VERSION

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install tidepool-client chromium
	$(BIN)/pytest tests/e2e

bench: install
	$(BIN)/python bench/run.py

# Lambda's runtime is python3.12; sam build needs it on PATH (pyenv: PYENV_VERSION=3.12.1).
# The build is then compiled to .pyc, which sam build does not do: imports run ~3x faster.
build: $(SAM_VENV)/.installed
	PYENV_VERSION=$${PYENV_VERSION:-3.12.1} $(SAM_VENV)/bin/sam build
	PYENV_VERSION=$${PYENV_VERSION:-3.12.1} python3.12 -m compileall -q \
		--invalidation-mode unchecked-hash .aws-sam/build

deploy: build
	$(SAM_VENV)/bin/sam deploy --guided

# The web app's files into the deployed stack's bucket (behind its CloudFront distribution).
publish-web: install
	$(BIN)/python tools/publish_web.py --stack $(STACK)

# template.yaml deployed into ministack with IAM enforced, then driven through the deployed
# API; ministack is stopped when it ends, also on failure. docs/deploying.md.
deploy-local: install $(SAM_VENV)/.installed
	tools/deploy-local.sh

clean:
	rm -rf .aws-sam .tidewater .venv-ministack .pytest_cache .mypy_cache .ruff_cache \
		$(TIDEPOOL_CLIENT)/node_modules
