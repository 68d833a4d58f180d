# Linli: every target sets itself up. `make run` serves the platform with demo data; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
ASSETS_STAMP := linli/static/vendor/.stamp-$(shell cat package-lock.json scripts/vendor_assets.py 2>/dev/null | sha1sum | cut -c1-12)
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: setup run test test-fast bench lint messages clean

setup: $(DEPS_STAMP) $(ASSETS_STAMP)

$(PY):
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "installing python3-venv"; scripts/apt-install.sh python3-venv; }
	$(PYTHON) -m venv $(VENV)

$(DEPS_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.deps-* && touch $@

$(ASSETS_STAMP): package.json package-lock.json scripts/vendor_assets.py $(DEPS_STAMP)
	@command -v npm >/dev/null || { echo "installing nodejs and npm"; scripts/apt-install.sh nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) scripts/vendor_assets.py
	rm -f linli/static/vendor/.stamp-* && touch $@

run: setup
	PORT=$(PORT) $(PY) -m linli serve

test: setup
	@scripts/ensure-chromium.sh
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

bench: setup
	$(PY) bench/run_all.py

lint: setup
	$(PY) -m ruff check linli tests bench

messages: setup
	cd linli && ../$(PY) -m django makemessages -l en --settings=linli.settings && ../$(PY) -m django compilemessages --settings=linli.settings

clean:
	rm -rf $(VENV) node_modules linli/static/vendor var
