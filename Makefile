# q2c: `make demo` shows a whole billing run; `make test` runs the suite. `make help` lists all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install demo dev test lint typecheck unit clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install q2c with its dev tools

demo: $(STAMP) ## Start the embedded stack, bill the seeded contracts, print the runs
	$(BIN)/q2c demo

dev: $(STAMP) ## Run Temporal (UI on :8233), the systems and a worker until Ctrl-C
	$(BIN)/q2c dev

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy .

# The suite waits on servers more than it computes: two processes, a test file each at a time.
PYTEST_WORKERS ?= 2

unit: $(STAMP) ## The tests alone (PYTEST_WORKERS=0: in one process)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck unit ## Lint, type-check and run the whole suite

clean: ## Remove the local state (.q2c) and caches
	rm -rf .q2c .pytest_cache .mypy_cache .ruff_cache .hypothesis
