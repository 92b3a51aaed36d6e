# Conveyor: `make up` runs the platform, `make test` runs every check. Both install what they need
# first and are safe to run again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
NODE_PREFIX := $(VENV)/node
NPM_PKGS := @actions/workflow-parser@0.3.61 @actions/expressions@0.3.61 @socialgouv/aes-gcm-rsa-oaep@1.1.4
STAMP := $(VENV)/.installed
# The web UI's one front-end library, pinned, copied from npm into the package (no CDN).
HTMX_VERSION := 2.0.11
HTMX := src/conveyor/server/ui/static/vendor/htmx.min.js
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(shell command -v $(PYTHON) 2>/dev/null)

.PHONY: up test install system lint typecheck contracts pytest bench clean

up: install
	$(VENV)/bin/conveyor up

test: install lint typecheck contracts pytest

install: system $(STAMP) $(NODE_PREFIX)/.installed $(HTMX)
	@# Byte-compile explicitly: with PYTHONDONTWRITEBYTECODE set (as on these machines) every
	@# `conveyor` start would otherwise recompile all its modules and its dependencies'
	@# (SQLAlchemy alone costs ~0.6 s). Up-to-date files are skipped.
	@# Some packages ship files that are not Python 3 (templates, test data): those may fail.
	@$(VENV)/bin/python -m compileall -q -j 0 src/conveyor >/dev/null
	@$(VENV)/bin/python -m compileall -q -j 0 $(VENV)/lib/python3*/site-packages >/dev/null 2>&1 || true

system:
	@bash scripts/install-system.sh

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet 'uv>=0.5'

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $@

$(NODE_PREFIX)/.installed: $(STAMP) Makefile
	mkdir -p $(NODE_PREFIX)
	npm install --silent --no-audit --no-fund --prefix $(NODE_PREFIX) $(NPM_PKGS)
	@touch $@

$(HTMX): Makefile
	mkdir -p $(NODE_PREFIX) $(dir $@)
	npm install --silent --no-audit --no-fund --prefix $(NODE_PREFIX) htmx.org@$(HTMX_VERSION)
	cp $(NODE_PREFIX)/node_modules/htmx.org/dist/htmx.min.js $@

lint:
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck:
	$(VENV)/bin/mypy --strict src/conveyor

contracts:
	$(VENV)/bin/lint-imports --no-cache

# Real-Podman suites (the target's rollouts and probes, the whole-platform tour, the tour in
# a real Chromium) measure timing-sensitive behaviour (zero failed requests during a
# rollout), so they run on their own after the rest, not beside a second CPU-bound worker on
# this 2-core machine.
PODMAN_SUITES := tests/targets/podman tests/e2e tests/browser

pytest:
	$(VENV)/bin/pytest -q -n 2 --dist loadgroup $(addprefix --ignore=,$(PODMAN_SUITES))
	$(VENV)/bin/pytest -q -p no:xdist $(PODMAN_SUITES)

bench: install
	for b in bench/*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
