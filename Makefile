# Paybond Kit — every target installs what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.PHONY: demo
demo: demo-rust ## Run the guarded-agent demo on the embedded dev server

.PHONY: demo-rust
demo-rust: ## Rust demo: a paid tool guarded by Harbor verify, on the in-process dev server
	$(CARGO) run -q -p paybond-kit-integration --example guarded_tool

.PHONY: test
test: test-rust ## Run every test (Rust, Python, Node)

.PHONY: test-rust
test-rust: ## Rust: unit, vectors, dev server and core<->dev server integration tests
	$(CARGO) test --workspace

.PHONY: lint
lint: ## rustfmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: devserver
devserver: ## Run the dev server binary on ports 8787 (Gateway) and 8788 (Harbor)
	$(CARGO) run -q -p paybond-devserver -- --gateway-port 8787 --harbor-port 8788
