# londonmh: two commands for a fresh clone (see README.md).
#   make run    install everything, start the portal with demo data as its users see it (Ctrl-C stops it)
#   make test   install everything, then lint and run the whole test suite
# For people changing the code (docs/running.md):
#   make dev    the same with DEBUG on and Django's auto-reloading runserver
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run dev test install lint format audit clean-local

run: install
	$(PY) -m londonmh.devenv run

dev: install
	$(PY) -m londonmh.devenv dev

test: install
	$(PY) -m londonmh.devenv test $(PYTEST_ARGS)

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix . && $(PY) -m ruff format .

# Known-vulnerability audit of the installed dependencies (needs PyPI's JSON API; see docs/security.md).
audit: install
	$(PY) -m pip_audit --strict --skip-editable --progress-spinner off

# Deletes the embedded PostgreSQL/Redis data of `make run`.
clean-local:
	rm -rf .local
