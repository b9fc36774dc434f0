# Paybond Kit — every target installs what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ROOT := $(abspath .)

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.PHONY: demo
demo: demo-python ## Run the guarded-agent demo on the embedded dev server

.PHONY: demo-python
demo-python: python-dev ## Python demo: a LangGraph agent with guarded paid tools
	$(PY) examples/python/langgraph_guarded_agent.py

.PHONY: demo-rust
demo-rust: ## Rust demo: a paid tool guarded by Harbor verify, on the in-process dev server
	$(CARGO) run -q -p paybond-kit-integration --example guarded_tool

.PHONY: test
test: test-rust test-python ## Run every test (Rust, Python, Node)

.PHONY: test-rust
test-rust: ## Rust: unit, vectors, dev server and core<->dev server integration tests
	$(CARGO) test --workspace

$(VENV)/.installed: bindings-python/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r bindings-python/requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv with maturin, pytest, mypy and the agent frameworks

.PHONY: python-dev
python-dev: venv ## Build the native module into .venv (shares target/ with cargo)
	cd bindings-python && VIRTUAL_ENV=$(ROOT)/$(VENV) CARGO_TARGET_DIR=$(ROOT)/target $(ROOT)/$(VENV)/bin/maturin develop -q

.PHONY: test-python
test-python: python-dev ## Python: API, vectors, frameworks, faults; stubtest; mypy --strict
	cd bindings-python && $(ROOT)/$(PY) -m pytest -q -p no:cacheprovider
	cd bindings-python && $(ROOT)/$(PY) -m mypy.stubtest paybond_kit._native
	$(PY) -m mypy --strict examples/python bindings-python/python/paybond_kit
	$(PY) examples/python/langgraph_guarded_agent.py > /dev/null

.PHONY: lint
lint: ## rustfmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: devserver
devserver: ## Run the dev server binary on ports 8787 (Gateway) and 8788 (Harbor)
	$(CARGO) run -q -p paybond-devserver -- --gateway-port 8787 --harbor-port 8788
