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

.PHONY: all all-sites verify bench build check-site setup test test-fast lint format lab lock clean sites new-site validate import compare templates
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

# Style: ruff (pinned in requirements.lock) checks and formats src/, tests/ and tools/.
lint: $(READY)
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/ruff format --check src tests tools

format: $(READY)
	$(VENV)/bin/ruff check --fix src tests tools
	$(VENV)/bin/ruff format src tests tools

# Containers and Binder-like images run as root: JupyterLab refuses that unless told.
lab: $(READY)
	$(VENV)/bin/jupyter lab --notebook-dir=. --MappingKernelManager.default_kernel_name=$(KERNEL) \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

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

# One lock for every platform and supported Python, and environment.yml made from it; UPGRADE="pkg ..." lets
# those packages move to their newest versions (docs/developer.md, "Updating the lock").
lock: $(READY)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock uv
	$(PY) tools/lock.py $(UPGRADE)

sites:
	@ls data | while read d; do test -f data/$$d/site.yaml && echo $$d; done

clean:
	rm -rf build figures/*/ reports/*/
