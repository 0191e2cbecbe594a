# Front door of the compendium. `make` sets up and builds the default site; `make test` tests.
SITE   ?= pujud
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
JOBS   ?=
KERNEL := collabgov
# Python may keep its compiled modules (in __pycache__, ignored by git and by the build's fingerprints) even
# where the environment says not to: otherwise every notebook kernel and test process compiles the package
# again, and pytest rewrites its plugins' modules again (4 s per test process, measured).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: all all-sites verify release bench build check-site setup test test-fast lint format lab lock clean sites new-site validate import compare templates
.DEFAULT_GOAL := all

all: build

# Fail at once, before any setup, when the site folder does not exist.
check-site:
	@test -f "data/$(SITE)/site.yaml" || { \
	  echo "error: unknown site '$(SITE)'; sites here: $$(ls data | while read d; do test -f data/$$d/site.yaml && printf '%s ' $$d; done)" >&2; exit 2; }

# Before anything else: .venv set up, or a line that says what stops it and the command that mends it
# (tools/bootstrap.py; with nothing to do it returns at once). A Python named here (make PYTHON=python3.X) is the
# one .venv is made with; otherwise .venv keeps the Python it was made with, and $(PYTHON) makes it when needed.
ifeq ($(origin PYTHON),command line)
SETUP := $(PYTHON) tools/bootstrap.py
FOUND := command -v $(PYTHON) >/dev/null 2>&1
else
SETUP := if test -x $(PY); then $(PY) tools/bootstrap.py --keep; else $(PYTHON) tools/bootstrap.py --keep; fi
FOUND := test -x $(PY) || command -v $(PYTHON) >/dev/null 2>&1
endif

setup:
	@$(FOUND) || { l=en; for v in "$$COLLABGOV_LANG" "$$LC_ALL" "$$LANG"; do \
	  case "$$v" in [iI][dD]*) l=id; break ;; [eE][nN]*) break ;; esac; done; \
	  if [ $$l = id ]; then echo "galat: '$(PYTHON)' tidak ditemukan: pasang Python (lihat README.md), atau sebut satu: make PYTHON=..." >&2; \
	  else echo "error: '$(PYTHON)' not found: install Python (see README.md), or name one: make PYTHON=..." >&2; fi; exit 2; }
	@$(SETUP)

build: check-site setup
	$(PY) -m collabgov build "$(SITE)" $(if $(JOBS),--jobs $(JOBS)) $(if $(DRAFT),--draft)

all-sites: setup
	$(PY) -m collabgov build --all $(if $(JOBS),--jobs $(JOBS))

verify: check-site setup
	$(PY) -m collabgov verify "$(SITE)"

bench: setup
	$(PY) -m collabgov.bench

# All tests. The end-to-end tests that share one build of the test sites run in one worker ("built"
# group) while the other worker runs the unit tests and the end-to-end tests with a sandbox of their own.
test: setup
	$(PY) -m pytest -q -n 2 --dist loadgroup

# Unit tests only (no notebook runs), a fifth of the property-based examples: the loop for a change to one module.
test-fast: setup
	TEST_FAST=1 $(PY) -m pytest -q -n 2 -m "not e2e"

# Style: ruff (pinned in requirements.lock) checks and formats src/, tests/ and tools/; the CI workflow is checked
# against GitHub's workflow schema (check-jsonschema's copy of it: offline).
lint: setup
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/ruff format --check src tests tools
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/ci.yml

format: setup
	$(VENV)/bin/ruff check --fix src tests tools
	$(VENV)/bin/ruff format src tests tools

# `make lab PORT=8888 NO_BROWSER=1`: a port, no browser opened. Containers run as root: Lab refuses that unless told.
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=. --MappingKernelManager.default_kernel_name=$(KERNEL) $(if $(PORT),--port=$(PORT)) \
	  $(if $(filter-out 0,$(NO_BROWSER)),--no-browser) $(if $(filter 0,$(shell id -u)),--allow-root)

new-site: setup
	@test -n "$(KECAMATAN)" -a -n "$(KABUPATEN)" || { echo 'usage: make new-site SITE=<name> KECAMATAN="..." KABUPATEN="..." [YEARS="2023 2024"] [FORMAT=xlsx] [SYNTHETIC=1]' >&2; exit 2; }
	$(PY) -m collabgov new-site "$(SITE)" --kecamatan "$(KECAMATAN)" --kabupaten "$(KABUPATEN)" --years "$(YEARS)" --format "$(or $(FORMAT),csv)" $(if $(SYNTHETIC),--synthetic)

validate: check-site setup
	$(PY) -m collabgov validate "$(SITE)" $(if $(DRAFT),--draft)

import: check-site setup
	@test -n "$(FROM)" || { echo 'usage: make import SITE=<name> FROM=<file.qdpx|taguette.csv|taguette.xlsx> [REPLACE=1]' >&2; exit 2; }
	$(PY) -m collabgov import "$(SITE)" "$(FROM)" $(if $(REPLACE),--replace)

compare: setup
	@test -n "$(SITES)" || { echo 'usage: make compare SITES="pujud sintetis"' >&2; exit 2; }
	$(PY) -m collabgov compare $(SITES)

templates: setup
	$(PY) -m collabgov templates

# One lock for every platform and supported Python, and environment.yml made from it; UPGRADE="pkg ..." lets
# those packages move to their newest versions (docs/developer.md, "Updating the lock").
lock: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock uv
	$(PY) tools/lock.py $(UPGRADE)

sites:
	@ls data | while read d; do test -f data/$$d/site.yaml && echo $$d; done

clean:
	rm -rf build dist figures/*/ reports/*/

# dist/collabgov-<version>.tar.gz and .zip: the committed source with every committed site built, checksums, citation.
release: setup
	$(PY) -m collabgov release $(if $(JOBS),--jobs $(JOBS))
