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
demo: demo-python demo-node ## Run the guarded-agent demos (Python, then Node) on the embedded dev server

.PHONY: demo-python
demo-python: python-dev ## Python demo: a LangGraph agent with guarded paid tools
	$(PY) examples/python/langgraph_guarded_agent.py

.PHONY: demo-rust
demo-rust: ## Rust demo: a paid tool guarded by Harbor verify, on the in-process dev server
	$(CARGO) run -q -p paybond-kit-integration --example guarded_tool

.PHONY: test
test: test-rust test-python test-node ## Run every test (Rust, Python, Node)

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

bindings-node/node_modules/.installed: bindings-node/package-lock.json
	cd bindings-node && npm install --no-audit --no-fund
	touch $@

.PHONY: node-build
node-build: bindings-node/node_modules/.installed ## Build the N-API module (shares target/) and the TypeScript package
	cd bindings-node && CARGO=$(ROOT)/bindings-node/scripts/cargo-host.sh npx --no-install napi build --platform --output-dir native --js native.js --dts native.d.ts
	cd bindings-node && npm run --silent build:ts

.PHONY: test-node
test-node: node-build ## Node: API, vectors, frameworks, faults (vitest); npm pack ESM/CJS/tsc check
	cd bindings-node && npx --no-install vitest run
	bash bindings-node/scripts/pack-check.sh

.PHONY: demo-node
demo-node: node-build ## Node demo: an OpenAI Agents JS agent with guarded paid tools
	cd examples/node && npm install --no-audit --no-fund && npx --no-install tsx openai_agents_guarded.ts

.PHONY: bench
bench: ## Benchmarks vs the reference kit, plain fetch and the Rust floor -> BENCHMARKS.md
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -j3 -Oline bench-ref $(VENV)/.installed bindings-node/node_modules/.installed && \
	$(MAKE) --no-print-directory bench-build && \
	BENCH_STARTED=$$start $(PYTHON) bench/run.py

.PHONY: bench-ref
bench-ref: # the reference kit's own venv (built from source; runs beside the other installs)
	$(PYTHON) bench/run.py --install-ref

.PHONY: bench-build
bench-build: python-dev node-build
	$(CARGO) build -q -p paybond-bench -p paybond-devserver

.PHONY: lint
lint: ## rustfmt --check, clippy -D warnings, mypy --strict, tsc --noEmit
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(PY) -m mypy --strict examples/python bindings-python/python/paybond_kit
	cd bindings-node && npx --no-install tsc -p tsconfig.json --noEmit

.PHONY: devserver
devserver: ## Run the dev server binary on ports 8787 (Gateway) and 8788 (Harbor)
	$(CARGO) run -q -p paybond-devserver -- --gateway-port 8787 --harbor-port 8788
