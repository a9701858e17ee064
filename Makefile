# RFP Portal — the two commands: `make run` (the demo) and `make test` (the suite).
# Both create the virtual environment from the lock file on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The test suite runs on PostgreSQL; override DATABASE_URL to use another server.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/rfp_portal

.PHONY: run test install lint lock format migrate demo clean-venv help

help:
	@echo "make run    - set up, migrate, load the demo and serve it at http://$(HOST):$(PORT)"
	@echo "make test   - set up and run the whole test suite (PostgreSQL, Redis, chromium)"
	@echo "make lint   - ruff check, format check and the architecture's import contracts"

# Every package comes from the lock file and is checked against its hashes (pip itself too: the
# lock pins it). `make lock` regenerates both lock files after a change to pyproject.toml.
$(STAMP): requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

# Links in the portal's mails use SITE_URL: for the demo it follows HOST and PORT (an SITE_URL
# set in the environment wins, as it does in production).
migrate demo run: export SITE_URL ?= http://$(HOST):$(PORT)
migrate demo run: export ALLOWED_HOSTS ?= 127.0.0.1,localhost,$(HOST)
# The demo is what a newcomer judges: the portal's own error pages, never Django's debug pages
# (a traceback still goes to the terminal). DEBUG=1 make run for development.
run: export DEBUG ?= 0

# Receipts are signed at submit (proposals.receipt_signing): the demo signs with a local key
# under var/receipt-keys/, made here once (never in the repository; production names its own).
demo: migrate
	$(BIN)/python manage.py receipt_key create --if-missing
	$(BIN)/python manage.py load_demo

run: demo
	@echo ""
	@echo "RFP Portal is at http://$(HOST):$(PORT)/   (Ctrl-C stops it)"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/python -m pytest $(PYTEST_ARGS)

LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --no-emit-find-links --no-emit-index-url --strip-extras
lock: $(STAMP)
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file=requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra=dev --output-file=requirements-dev.lock pyproject.toml

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-venv:
	rm -rf $(VENV)
