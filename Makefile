# Paybond Kit — every target installs what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ROOT := $(abspath .)
# Node LTS lines the Node tests also run on, fetched as npm packages (the `node` package ships
# the binary) into the git-ignored .cache/node/<version>/. Node 20 is the machine's own.
NODE_LTS := 22.23.3 24.21.0
NODE_LTS_BINS := $(foreach v,$(NODE_LTS),$(ROOT)/.cache/node/$(v)/node_modules/node/bin/node)

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
test: test-rust test-python test-node docs-check dist-check ## Run every test (Rust, Python, Node), the docs' code samples, then build dist/ and check it

.PHONY: test-rust
# The two binding crates have no Rust tests and are built by maturin / napi (python-dev,
# node-build), which set build environment variables of their own (PYO3_CONFIG_FILE,
# PYO3_BUILD_EXTENSION_MODULE, NAPI_TYPE_DEF_TMP_FOLDER): building them here too would compile
# pyo3, napi and both bindings twice. Leaving them out does not change the features of the
# shared dependencies (every other crate's build stays fresh).
RUST_TEST_PKGS := --workspace --exclude paybond-kit-python --exclude paybond-kit-node

test-rust: ## Rust: unit, vectors, dev server and core<->dev server integration tests
	$(CARGO) test $(RUST_TEST_PKGS)

$(VENV)/.installed: bindings-python/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r bindings-python/requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv with maturin, pytest, mypy and the agent frameworks

# langchain-mcp-adapters 0.3 needs mcp<2, which cannot live next to mcp 2.x / FastMCP 4 in .venv:
# its tests (bindings-python/tests/test_mcp_langchain.py) run in this second venv, on the same
# source tree (a .pth file) and the native module `python-dev` builds.
MCP1_VENV := .venv-mcp1
$(MCP1_VENV)/.installed: bindings-python/requirements-mcp1.txt
	$(PYTHON) -m venv $(MCP1_VENV)
	$(MCP1_VENV)/bin/python -m pip install -q -r bindings-python/requirements-mcp1.txt
	echo $(ROOT)/bindings-python/python > "$$($(MCP1_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/paybond_kit.pth"
	touch $@

.PHONY: venv-mcp1
venv-mcp1: $(MCP1_VENV)/.installed ## Create .venv-mcp1 for the langchain-mcp-adapters tests (mcp<2)

.PHONY: python-dev
python-dev: venv ## Build the native module into .venv (shares target/ with cargo)
	cd bindings-python && VIRTUAL_ENV=$(ROOT)/$(VENV) CARGO_TARGET_DIR=$(ROOT)/target $(ROOT)/$(VENV)/bin/maturin develop -q

.PHONY: test-python
test-python: python-dev venv-mcp1 ## Python: API, vectors, frameworks, faults; stubtest; mypy --strict
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
test-node: node-build ## Node: API, vectors, frameworks, faults (vitest, debug build; dist-check runs it on Node 20/22/24)
	cd bindings-node && npx --no-install vitest run

.PHONY: demo-node
demo-node: node-build ## Node demo: an OpenAI Agents JS agent with guarded paid tools
	cd examples/node && npm install --no-audit --no-fund && npx --no-install tsx openai_agents_guarded.ts

$(ROOT)/.cache/node/%/node_modules/node/bin/node:
	npm install --prefix $(ROOT)/.cache/node/$* --no-save --no-audit --no-fund --loglevel=error node@$*
	test -x $@ && touch $@

.PHONY: node-lts
node-lts: $(NODE_LTS_BINS) ## Fetch the Node LTS binaries the tests also use (npm packages) into .cache/node/

# `make dist` builds the release modules once (target/release, shared by maturin and napi:
# the same features, so each crate compiles once) and packs them; `dist-check` and later
# `make dist` calls reuse dist/ until a source changes.
DIST_SRC := Cargo.toml Cargo.lock LICENSE CHANGELOG.md \
  $(shell find core/src devserver/src bindings-python/src bindings-python/python bindings-python/build-backend \
    bindings-python/wheel-data bindings-node/src bindings-node/lib bindings-node/scripts -type f ! -name '*.so' ! -name '*.pyc' 2>/dev/null) \
  $(wildcard */Cargo.toml bindings-python/pyproject.toml bindings-python/README.md bindings-node/package.json \
    bindings-node/README.md bindings-node/tsconfig*.json bindings-node/build.rs bindings-node/npm/*/package.json \
    bindings-node/npm/*/README.md)

.PHONY: dist
dist: dist/.built ## Release artifacts in dist/: abi3 wheel + sdist; npm paybond-kit + paybond-kit-<platform>

dist/.built: $(DIST_SRC) | $(VENV)/.installed bindings-node/node_modules/.installed
	rm -rf dist target/napi-dist; mkdir -p dist target/napi-dist; date +%s > target/napi-dist/.started
	cd bindings-python && CARGO_TARGET_DIR=$(ROOT)/target $(ROOT)/$(VENV)/bin/maturin build -q --release --auditwheel check --out $(ROOT)/dist
	cd bindings-python && $(ROOT)/$(VENV)/bin/maturin sdist --out $(ROOT)/dist
	cd bindings-node && CARGO=$(ROOT)/bindings-node/scripts/cargo-host.sh npx --no-install napi build --platform --release \
	  --output-dir $(ROOT)/target/napi-dist --js native.js --dts native.d.ts
	@set -e; node=$$(ls target/napi-dist/*.node); plat=$$(basename $$node .node); plat=$${plat#*.}; \
	  test -d bindings-node/npm/$$plat || { echo "no bindings-node/npm/$$plat: add the target (bindings-node/README.md, Other platforms)"; exit 1; }; \
	  mkdir -p bindings-node/native; cp target/napi-dist/native.js target/napi-dist/native.d.ts bindings-node/native/; \
	  cp $$node LICENSE bindings-node/npm/$$plat/
	cd bindings-node && npm run --silent build:ts
	cd bindings-node && npm pack --silent --pack-destination $(ROOT)/dist >/dev/null
	for d in bindings-node/npm/*/; do ! ls $$d*.node >/dev/null 2>&1 || (cd $$d && npm pack --silent --pack-destination $(ROOT)/dist >/dev/null); done
	@touch $@; echo "dist/ built in $$(( $$(date +%s) - $$(cat target/napi-dist/.started) )) s:"; ls -l dist | tail -n +2

.PHONY: dist-check
dist-check: dist/.built $(NODE_LTS_BINS) ## Install dist/ with no cargo/rustc on PATH (venv; ESM + CJS projects): smoke, attw, tsc, vitest on Node 20/22/24
	PYTHON=$(PYTHON) bash scripts/dist-check/run.sh $$(command -v node) $(NODE_LTS_BINS)

# ---- docs (docs/): mkdocs-material + mkdocstrings (Python reference), TypeDoc (Node reference),
# rustdoc (the core). The docs tooling lives in .venv (docs/requirements.txt) and docs/node/
# (TypeDoc), never in the packages' own dependency lists.
$(VENV)/.docs-installed: docs/requirements.txt $(VENV)/.installed
	$(PY) -m pip install -q -r docs/requirements.txt
	touch $@

docs/node/node_modules/.installed: docs/node/package-lock.json
	cd docs/node && npm ci --no-audit --no-fund
	touch $@

.PHONY: docs
docs: node-build $(VENV)/.docs-installed docs/node/node_modules/.installed ## Build the docs site into docs/site (strict: a warning, broken link or missing reference fails)
	@start=$$(date +%s); \
	(cd docs/node && npx --no-install typedoc) && \
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -q --no-deps -p paybond-kit -p paybond-devserver && \
	(cd docs && NO_MKDOCS_2_WARNING=1 $(ROOT)/$(PY) -m mkdocs build --strict -q) && \
	echo "docs/site built in $$(( $$(date +%s) - start )) s: open docs/site/index.html"

.PHONY: docs-browser
docs-browser: docs ## Open the built site in headless Chromium (Debian package): follow index -> Signal guide -> SDK references, screenshots in target/docs-screenshots/
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	$(PY) docs/scripts/browser.py

.PHONY: docs-check
docs-check: python-dev node-build $(VENV)/.docs-installed ## Run every Python, Node and Rust sample of docs/ against LocalHarbor (tsc --strict on the Node ones)
	$(PY) docs/scripts/check.py

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
lint: $(VENV)/.installed bindings-node/node_modules/.installed ## rustfmt --check, clippy -D warnings, ruff, mypy --strict, tsc --noEmit, biome lint, cargo deny
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(PY) -m ruff check .
	$(PY) -m mypy --strict examples/python bindings-python/python/paybond_kit
	cd bindings-node && npx --no-install tsc -p tsconfig.json --noEmit
	cd bindings-node && npx --no-install biome lint --error-on-warnings lib test
	$(MAKE) --no-print-directory deny

# cargo-deny, built once into target/tools (a pinned version; `make clean` removes it).
DENY_VERSION := 0.20.2
DENY := $(ROOT)/target/tools/bin/cargo-deny
DENY_RUN := $(DENY) --manifest-path $(ROOT)/Cargo.toml
ADVISORY_DBS = $${PAYBOND_ADVISORY_DBS:-$${CARGO_HOME:-$$HOME/.cargo}/advisory-dbs}

$(DENY):
	$(CARGO) install -q --locked cargo-deny --version $(DENY_VERSION) --root $(ROOT)/target/tools

.PHONY: deny
deny: $(DENY) ## cargo deny (deny.toml): licenses, bans, sources; advisories from the RustSec database
	$(DENY_RUN) check licenses bans sources
	@db="$(ADVISORY_DBS)"; export PAYBOND_ADVISORY_DBS="$$db"; \
	if out=$$($(DENY_RUN) fetch db 2>&1); then \
	  echo "cargo deny check advisories (database fetched into $$db)"; \
	  $(DENY_RUN) --offline check advisories; \
	elif ls -d "$$db"/advisory-db-* >/dev/null 2>&1; then \
	  clone=$$(ls -d "$$db"/advisory-db-* | head -1); \
	  echo "deny: fetching the RustSec database failed ($$(echo "$$out" | tail -1)); checking against"; \
	  echo "      the local clone $$clone (last commit $$(git -C "$$clone" log -1 --format=%cs 2>/dev/null))"; \
	  $(DENY_RUN) --offline check advisories; \
	else \
	  echo "deny: advisories NOT checked: fetching the RustSec database failed:"; \
	  echo "      $$(echo "$$out" | tail -1)"; \
	  echo "      put a clone of github.com/rustsec/advisory-db at $$db/advisory-db-3157b0e258782691"; \
	  echo "      (or set PAYBOND_ADVISORY_DBS) and run make deny again"; \
	fi

.PHONY: setup
setup: $(VENV)/.installed bindings-node/node_modules/.installed $(NODE_LTS_BINS) ## Install every prerequisite (venv, node_modules, Node LTS binaries); each target also does it on demand

.PHONY: fmt
fmt: $(VENV)/.installed ## Format the Rust code (rustfmt) and apply ruff's safe fixes to the Python code
	$(CARGO) fmt --all
	$(PY) -m ruff check --fix .

.PHONY: clean
clean: ## Remove every build output and installed environment (target/, dist/, venvs, node_modules, caches)
	rm -rf target dist $(VENV) .venv-mcp1 .cache bench/out bench/.ref-venv \
	  bindings-node/dist bindings-node/native bindings-node/node_modules \
	  docs/site docs/node/node_modules

.PHONY: devserver
devserver: ## Run the dev server binary on ports 8787 (Gateway) and 8788 (Harbor)
	$(CARGO) run -q -p paybond-devserver -- --gateway-port 8787 --harbor-port 8788
